import type { BuildRequest, ReportRendered } from './deploy.ts';
import type { Freed } from './retention.ts';

// Defined beside BundleBuilder, whose result it is too (a deploy's render), and kept here by name.
export type { ReportRendered };

/** A bundle to render: the build request without the deploy's draft flag, log and report variables (a request's own `env`). */
export type RenderItem = Omit<BuildRequest, 'draft' | 'log' | 'reportEnv'>;

/** Rendered content's variants, renders and schedules (connect-api-next.md §3–§5). */

export type RenderTrigger = 'deploy' | 'manual' | 'schedule';
export type RenderStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Variant {
  id: number;
  contentId: number;
  key: string;
  name: string;
  isDefault: boolean;
  visibility: 'public' | 'private';
  /** Null for the default variant. */
  ownerId: number | null;
  /** Saved parameter values (R Markdown `params`); null: the document's own defaults. */
  params: Record<string, unknown> | null;
  emailCollaborators: boolean;
  emailViewers: boolean;
  emailAll: boolean;
  /** The rendering viewers get. */
  renderingId: number | null;
  createdTime: Date;
}

export interface Rendering {
  id: number;
  contentId: number;
  variantId: number;
  bundleId: number;
  trigger: RenderTrigger;
  scheduleId: number | null;
  dueTime: Date | null;
  status: RenderStatus;
  attempt: number;
  activate: boolean;
  email: boolean;
  serverId: string | null;
  leaseUntil: Date | null;
  taskId: string | null;
  jobKey: string | null;
  /** Relative to the renders directory. */
  outputPath: string | null;
  outputFile: string | null;
  metadata: unknown;
  error: string | null;
  requestedBy: number | null;
  createdTime: Date;
  startedTime: Date | null;
  renderTime: Date | null;
  renderDurationNs: number | null;
}

export interface Schedule {
  id: number;
  contentId: number;
  variantId: number;
  type: string;
  /** The rule, a string holding JSON, as the client sent it. */
  schedule: string;
  startTime: Date;
  timezone: string;
  activate: boolean;
  email: boolean;
  /** Null when the rule can never fire again. */
  nextRun: Date | null;
  createdTime: Date;
  updatedTime: Date;
}

/** What a report render is asked to do. `variantKey` null: the default variant's place. */
export interface ReportRenderRequest {
  item: RenderItem;
  variantKey: string | null;
  params: Record<string, unknown>;
  /** RSC_REPORT_* and SPARK_CONNECT_USER_AGENT, on top of the process's usual variables. */
  env: Record<string, string>;
  log(line: string): void;
}

/**
 * The runtimes' side of a report render, wired in the composition root. `render` throws with
 * a reason the publisher can read; `discard` removes a pruned rendering's output.
 */
export interface ReportRenderer {
  render(req: ReportRenderRequest): Promise<ReportRendered>;
  /** The absolute directory of a rendering's output, or null if `outputPath` is not a render directory. */
  outputDir(outputPath: string): string | null;
  discard(outputPath: string): Promise<void>;
  /**
   * The daily prune: removes render output `keep` refuses (asked per content item, `bundleId`
   * null, then per bundle) and renders left half-written by a server that died.
   */
  prune(now: Date, keep: (contentGuid: string, bundleId: number | null) => Promise<boolean>): Promise<Freed>;
}
