import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { User } from '../src/domain/user.ts';
import type { VanityService } from '../src/services/vanity-service.ts';
import type { ContentFiles } from '../src/services/content-files.ts';
import type { ContentRunner } from '../runtimes/content-runner.ts';
import { prepareForContent, stickyFrom, type createForwarder, type Viewer } from './forward.ts';
import { scalingOf, type InstancePool } from './instance-pool.ts';

const CONTENT_PATH = /^\/+content\/([0-9a-fA-F-]{36})\/(?:_bundle(\d+)\/)?/;

export interface UpgradeDeps {
  files: ContentFiles;
  runner: ContentRunner;
  forward: ReturnType<typeof createForwarder>;
  /**
   * Who is asking: by API key, or by the session cookie (then `viaCookie`). Throws for a bad key.
   * Express middleware does not run on upgrades, so the server supplies this by hand.
   */
  authenticate(req: IncomingMessage): Promise<{ user: User | undefined; viaCookie: boolean }>;
  viewerOf(user: User): Promise<Viewer>;
  vanities: VanityService;
  pool: InstancePool;
  /** The origins a cookie-authenticated WebSocket may come from (cross-site hijacking). */
  allowedOrigins(req: IncomingMessage): string[];
}

function refuse(socket: Duplex, status: number, reason: string) {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** WebSocket upgrades to content: the same access check as HTTP, then a relay both ways. */
export function contentUpgrade(deps: UpgradeDeps) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void (async () => {
      // A vanity path first becomes the content path it stands for.
      let publicBase: string | undefined;
      const [urlPath = '/', query] = (req.url ?? '/').split(/\?(.*)/s);
      const vanity = CONTENT_PATH.test(urlPath) ? undefined : await deps.vanities.match(urlPath);
      if (vanity) {
        publicBase = vanity.path;
        req.url = `/content/${vanity.contentGuid}/${urlPath.slice(vanity.path.length)}${query !== undefined ? `?${query}` : ''}`;
      }
      const m = CONTENT_PATH.exec(req.url ?? '');
      if (!m) return refuse(socket, 404, 'Not Found');
      let who: { user: User | undefined; viaCookie: boolean };
      try {
        who = await deps.authenticate(req);
      } catch {
        return refuse(socket, 401, 'Unauthorized');
      }
      const origin = req.headers.origin;
      if (who.viaCookie && origin && !deps.allowedOrigins(req).includes(origin)) return refuse(socket, 403, 'Forbidden');
      const draft = m[2] ? Number(m[2]) : null;
      const result = await deps.files.resolve(who.user, m[1]!, draft).catch(() => undefined);
      if (!result) return refuse(socket, 404, 'Not Found');
      if (!result.ok) return refuse(socket, result.reason === 'login' ? 401 : 404, result.reason === 'login' ? 'Unauthorized' : 'Not Found');
      const { content, bundle } = result.target;
      const recipe = deps.runner.recipe(bundle.appMode);
      if (recipe.kind !== 'served') return refuse(socket, 404, 'Not Found');
      const lease = await deps.pool.acquire({
        contentGuid: content.guid,
        bundleId: bundle.id,
        appMode: bundle.appMode,
        primaryFile: bundle.primaryFile,
        bundleDir: result.target.dir,
        manifest: await deps.files.manifest(bundle),
        settings: { initTimeoutSeconds: content.init_timeout, pythonEnvironmentManagement: content.default_py_environment_management, rEnvironmentManagement: content.default_r_environment_management },
      }, scalingOf(content), stickyFrom(req.headers.cookie, content.guid)).catch((err: unknown) => {
        refuse(socket, 503, 'Service Unavailable');
        throw err;
      });
      const { served } = lease;
      // A WebSocket is a connection for as long as it is open.
      socket.once('close', lease.release);
      const prefix = m[0].replace(/^\/+/, '/');
      const original = (req.url ?? '/').replace(/^\/+/, '/');
      const tail = original.slice(prefix.length - 1) || '/';
      // Apps serving under their base path were started with `/content/<guid>/`, drafts too.
      const path = served.recipe.pathMode === 'full' ? `/content/${content.guid}${tail}` : tail;
      prepareForContent(req, path, publicBase ?? prefix, who.user ? await deps.viewerOf(who.user) : undefined);
      deps.forward.ws(req, socket, head, served.instance.target);
    })().catch(() => refuse(socket, 503, 'Service Unavailable'));
  };
}
