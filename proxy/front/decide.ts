import type { IncomingMessage } from 'node:http';
import { isNavigation, type GatewayDeps, CONTENT_PATH, THUMBNAIL, type Identity } from '../gateway.ts';
import { appAuthorization, appCookie, forwardedHeaders, stickyCookie, stickyFrom, viewerHeaders, type Forwarding } from '../forward.ts';
import type { ContentRunner } from '../../runtimes/content-runner.ts';
import type { Instance } from '../../runtimes/backend.ts';
import { LazyServeRequest } from '../serving.ts';
import { isApiMode, usageRequestOf } from '../usage.ts';
import { rewriteVanity, vanityBasePath } from '../vanity.ts';

/**
 * What the nginx front (proxy/front) asks Lectern about each request before relaying it itself:
 * the same checks as the gateway's (proxy/gateway.ts), answered as headers nginx sets on the
 * request to the app. Anything the gateway would not simply relay to a running process (a
 * WebSocket, a cold start, static content, a refusal, a login) is Lectern's: nginx hands the
 * request to Lectern's content origin as it came in.
 */
export interface DecideDeps extends Pick<GatewayDeps, 'identify' | 'files' | 'pool' | 'scalingOf' | 'vanities' | 'viewerOf' | 'signCredentials' | 'usage'> {
  runner: Pick<ContentRunner, 'serves' | 'instancesOf'>;
  forwarding: Forwarding;
  /** Lectern's origin for the request, the only one whose pages may frame content. */
  frameAncestors(req: IncomingMessage): string;
  /** nginx's name for a process's upstream, once nginx has loaded it. */
  upstreamOf(instance: Instance): string | undefined;
}

/** The answer's headers, read by nginx with `auth_request_set` (proxy/front/nginx-conf.ts). */
type Relay = Record<`x-lectern-${string}`, string>;

/** `lectern`: nginx hands the request to Lectern's content origin, unchanged. */
export type Decision = { relay: Relay } | 'lectern';

// nginx passes header values byte for byte; a value Node would refuse is Lectern's to relay.
const SAFE = /^[\t\x20-\x7e]*$/;
// The path nginx puts after the upstream's name: no space or control character in it.
const SAFE_URI = /^\/[\x21-\x7e]*$/;
// nginx reads decide's answer into 64 KB (nginx-conf.ts): a bigger one is Lectern's to relay.
const MAX_ANSWER = 48 * 1024;

const SPREAD = { spread: true };

export async function decide(deps: DecideDeps, req: IncomingMessage): Promise<Decision> {
  // Lectern counts each WebSocket session (max_conns_per_process, Shiny sessions): it relays them.
  if (req.headers['x-original-upgrade']) return 'lectern';
  const uri = req.headers['x-original-uri'];
  const method = req.headers['x-original-method'];
  if (typeof uri !== 'string' || typeof method !== 'string') return 'lectern';
  req.url = uri.replace(/^\/+/, '/');
  req.method = method;
  if (!req.url.startsWith('/content/') && (await rewriteVanity(req, deps.vanities)) !== 'rewritten') return 'lectern';
  const m = CONTENT_PATH.exec(req.url);
  if (!m) return 'lectern';
  let who: Identity;
  try {
    who = await deps.identify(req);
  } catch {
    return 'lectern';
  }
  const { user } = who;
  const draft = m[2] ? Number(m[2]) : null;
  const resolution = await deps.files.resolve(user, m[1]!, draft).catch(() => undefined);
  if (!resolution?.ok) return 'lectern';
  const tail = req.url.slice(m[0].length - 1) || '/';
  if (draft === null && tail.replace(/\?.*$/s, '') === `/${THUMBNAIL}`) return 'lectern';
  const { content, bundle } = resolution.target;
  if (!deps.runner.serves(bundle.appMode)) return 'lectern';
  // A cold start shows the viewer a "starting" page or the failure: Lectern's to do.
  if (deps.runner.instancesOf(content.guid, bundle.id).length === 0) return 'lectern';
  const scaling = draft === null ? deps.scalingOf(content) : { ...deps.scalingOf(content), minProcesses: 0 };
  const target = resolution.target;
  const lease = await deps.pool
    .acquire(new LazyServeRequest(deps.files, target), scaling, stickyFrom(req.headers.cookie, content.guid), SPREAD)
    .catch(() => undefined);
  if (!lease) return 'lectern';
  // nginx carries the request and does not say when it ends: the pool learns the choice only.
  lease.release();
  const upstream = deps.upstreamOf(lease.instance);
  if (!upstream) return 'lectern';
  const prefix = `/content/${content.guid}/${draft !== null ? `_bundle${draft}/` : ''}`;
  const publicBase = vanityBasePath(req) ?? prefix;
  // What the gateway's prepareForContent sets on a relayed request, as values for nginx to set.
  const viewer = user ? viewerHeaders(await deps.viewerOf(user), (c) => deps.signCredentials(content.guid, c)) : undefined;
  const fwd = forwardedHeaders(req, deps.forwarding);
  const relay: Relay = {
    'x-lectern-upstream': upstream,
    'x-lectern-uri': lease.pathMode === 'full' ? `/content/${content.guid}${tail}` : tail,
    'x-lectern-cookie': appCookie(req.headers.cookie) ?? '',
    'x-lectern-authorization': appAuthorization(req.headers.authorization) ?? '',
    'x-lectern-credentials': viewer?.credentials ?? '',
    'x-lectern-user': viewer?.user ?? '',
    'x-lectern-signature': viewer?.signature ?? '',
    'x-lectern-base-path': publicBase,
    'x-lectern-forwarded-proto': fwd['x-forwarded-proto'],
    'x-lectern-forwarded-host': fwd['x-forwarded-host'],
    'x-lectern-frame-ancestors': deps.frameAncestors(req),
    'x-lectern-set-cookie': `${stickyCookie(content.guid)}=${lease.instance.key}; Path=${publicBase}; HttpOnly; SameSite=Lax`,
  };
  let size = 0;
  for (const v of Object.values(relay)) {
    if (!SAFE.test(v)) return 'lectern';
    size += v.length;
  }
  if (size > MAX_ANSWER || !SAFE_URI.test(relay['x-lectern-uri'] ?? '')) return 'lectern';
  // Usage, as far as nginx lets Lectern see it: the hit now, and the visit the gateway would
  // note when the answer is a page (or any API answer), taken as the request asked for one.
  if (deps.usage?.recording) {
    const r = usageRequestOf(req, { contentGuid: content.guid, userGuid: user?.guid ?? null, bundleId: bundle.id }, tail, new Date());
    deps.usage.hit(r);
    if (isApiMode(bundle.appMode) || isNavigation(req)) deps.usage.visit({ ...r, shown: null });
  }
  return { relay };
}
