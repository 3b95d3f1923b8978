import type { Content } from '../src/domain/content.ts';
import { runSettingsOf } from '../src/domain/deploy.ts';
import { AppError, ErrorCode } from '../src/domain/errors.ts';
import type { ContentFiles, ServableBundle } from '../src/services/content-files.ts';
import { ContentUnavailable, type ServeRequest } from '../runtimes/content-runner.ts';
import { AtCapacity } from './instance-pool.ts';
import { UpstreamFailed } from './relay.ts';

/** What the runner needs to start (or find) the processes of a resolved bundle. */
export async function serveRequestFor(files: ContentFiles, target: ServableBundle): Promise<ServeRequest> {
  const { content, bundle } = target;
  return {
    contentGuid: content.guid,
    bundleId: bundle.id,
    appMode: bundle.appMode,
    primaryFile: bundle.primaryFile,
    bundleDir: target.dir,
    manifest: await files.manifest(bundle),
    settings: runSettingsOf(content),
  };
}

/**
 * The pool's request for a resolved bundle, with `prepare` building the whole ServeRequest only
 * when a process must start. A class, not an object with an arrow function: under tsx each
 * such function made per request costs a `__name` property definition, on every request's path.
 */
export class LazyServeRequest {
  readonly contentGuid: string;
  readonly bundleId: number;
  readonly appMode: string;
  constructor(
    private readonly files: ContentFiles,
    private readonly target: ServableBundle,
  ) {
    this.contentGuid = target.content.guid;
    this.bundleId = target.bundle.id;
    this.appMode = target.bundle.appMode;
  }
  prepare(): Promise<ServeRequest> {
    return serveRequestFor(this.files, this.target);
  }
}

// Connect's server defaults for the two relay timeouts, in seconds.
const READ_TIMEOUT_S = 3600;
const CONNECTION_TIMEOUT_S = 3600;

/** How long the relay waits for an app's answer, and how long an answer may stall. 0: forever. */
export function timeoutsOf(c: Content): { readTimeoutMs: number; idleTimeoutMs: number } {
  return { readTimeoutMs: (c.read_timeout ?? READ_TIMEOUT_S) * 1000, idleTimeoutMs: (c.connection_timeout ?? CONNECTION_TIMEOUT_S) * 1000 };
}

/**
 * Why no process could take a request, as the viewer is told; `retryAfter` in seconds.
 * `detailed`: the viewer is told why (ContentFiles.showsFailureDetails, the AccessPolicy's call).
 */
export function acquireFailure(err: unknown, detailed: boolean): { error: AppError; retryAfter?: number } {
  if (err instanceof AtCapacity) {
    return {
      error: new AppError(
        503,
        ErrorCode.internal,
        'This content is busy: every one of its processes has as many visitors as it may take. Try again in a moment.',
      ),
      retryAfter: 5,
    };
  }
  const retryAfter = err instanceof ContentUnavailable ? err.retryAfterSeconds : undefined;
  const message = detailed ? `The app could not start: ${(err as Error).message}` : 'This content is not available right now. Try again later.';
  return { error: new AppError(503, ErrorCode.internal, message), retryAfter };
}

/** The app took the request but never answered it: it stopped (502) or was too slow (504). */
export function relayFailure(err: UpstreamFailed, detailed: boolean, target: ServableBundle, jobKey: string): AppError {
  const status = err.timedOut ? 504 : 502;
  const what = err.timedOut ? 'The app took too long to answer.' : 'The app stopped answering: it may have stopped.';
  if (!detailed) return new AppError(status, ErrorCode.internal, `${what} Try again in a moment.`);
  const log = `/__api__/v1/content/${target.content.guid}/jobs/${jobKey}/log`;
  return new AppError(status, ErrorCode.internal, `${what} Its process is job ${jobKey}; its log is at ${log}.`, { job_key: jobKey, log });
}
