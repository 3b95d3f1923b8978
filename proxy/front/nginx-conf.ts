import { PROXY_SECRET_HEADER } from '../../src/domain/proxy-auth.ts';
import { CREDENTIALS_SIGNATURE_HEADER } from '../../src/services/credentials-signature.ts';
import { parseTarget } from '../../runtimes/target.ts';

/** One content process as nginx knows it: an upstream named for it. */
export interface FrontUpstream {
  name: string;
  /** The process's target (runtimes/target.ts): `http://host:port` or a Unix socket. */
  target: string;
}

export interface FrontConf {
  /** Where viewers connect: the content origin's address and port. */
  listen: string;
  workers: number;
  /** nginx's own files: pid, temporary files, the upstream list, the response filter. */
  runDir: string;
  /** Lectern's answer to each request (proxy/front/decide.ts), on a Unix socket. */
  decideSocket: string;
  /** Lectern's content origin, for everything it does not hand nginx to relay. */
  pagesSocket: string;
  /** nginx's JavaScript module (Debian's libnginx-mod-http-js). */
  jsModule: string;
  /** Set when nginx starts as root: its workers must reach Lectern's 0700 sockets. */
  user?: string;
  /** `server.trustProxy` above 0: the client's X-Forwarded-Proto and -Host came from a proxy Lectern trusts. */
  trustForwarded: boolean;
}

/** `auth_request_set` variables, from the headers decide.ts answers with. */
const FROM_DECIDE = [
  'upstream',
  'uri',
  'cookie',
  'authorization',
  'credentials',
  'user',
  'signature',
  'base_path',
  'forwarded_proto',
  'forwarded_host',
  'frame_ancestors',
  'set_cookie',
];

/**
 * The response filter (njs): what proxy/relay.ts does to an app's answer. An app must not set
 * or clear Lectern's cookies (the same rule as forward.ts isLecternCookie, in nginx's
 * JavaScript); only Lectern's pages may frame it, unless its own policy says who may;
 * `nosniff`; and the cookie that keeps the viewer on this process.
 */
export const RESPONSE_FILTER = `
function lecternCookie(c) {
  var pair = c.split(';')[0];
  var eq = pair.indexOf('=');
  var name = (eq < 0 ? '' : pair.slice(0, eq)).trim();
  if (name === '') name = (pair.slice(eq + 1).split('=')[0] || '').trim();
  name = name.toLowerCase();
  return name.startsWith('lectern_') || name.startsWith('__host-lectern');
}
function headers(r) {
  var own = r.headersOut['Set-Cookie'] || [];
  var kept = own.filter(function (c) { return !lecternCookie(c); });
  var sticky = r.variables.lectern_set_cookie;
  if (sticky) kept.push(sticky);
  if (own.length || kept.length) r.headersOut['Set-Cookie'] = kept;
  var csp = r.headersOut['Content-Security-Policy'];
  var ours = 'frame-ancestors ' + r.variables.lectern_frame_ancestors;
  if (!csp) r.headersOut['Content-Security-Policy'] = ours;
  else if (!/(^|[;,])\\s*frame-ancestors(\\s|;|,|$)/i.test(csp)) r.headersOut['Content-Security-Policy'] = csp + ', ' + ours;
  r.headersOut['X-Content-Type-Options'] = 'nosniff';
}
export default { headers };
`;

/** nginx's `server` line for an upstream: a TCP address, or `unix:` and a socket path. */
function upstreamServer(target: string): string {
  const { url, socketPath } = parseTarget(target);
  return socketPath ? `unix:${socketPath}` : new URL(url).host;
}

/** The upstream list, a file of its own: rewritten and reloaded as processes come and go. */
export function upstreamsConf(list: FrontUpstream[]): string {
  // Idle connections closed after 1.5 s, as relay.ts does: gunicorn drops them after 2.
  return list.map((u) => `upstream ${u.name} { server ${upstreamServer(u.target)}; keepalive 32; keepalive_timeout 1500ms; }\n`).join('');
}

/** Lectern's content origin, for a request handed over as it came in. */
function handOver(fwdProto: string, fwdHost: string): string {
  return `proxy_pass http://lectern_pages;
      proxy_set_header Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $lectern_connection;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto ${fwdProto};
      proxy_set_header X-Forwarded-Host ${fwdHost};`;
}

// Values nginx reads as text: a path with a quote or a brace would break out of the file.
function quoted(s: string): string {
  if (/["\\\n{};$]/.test(s)) throw new Error(`nginx front: unsupported character in ${s}`);
  return `"${s}"`;
}

export function nginxConf(c: FrontConf): string {
  const fromDecide = FROM_DECIDE.map((v) => `      auth_request_set $lectern_${v} $upstream_http_x_lectern_${v};`).join('\n');
  // What a trusted proxy said of the viewer's scheme and host goes on to Lectern; otherwise nginx's own.
  const fwdProto = c.trustForwarded ? '$lectern_in_proto' : '$scheme';
  const fwdHost = c.trustForwarded ? '$lectern_in_host' : '$http_host';
  return `# Written by Lectern at each start (proxy/front/nginx-conf.ts): changes here are lost.
load_module ${quoted(c.jsModule)};
${c.user ? `user ${c.user};\n` : ''}worker_processes ${c.workers};
# A reload (the upstreams changed) leaves old workers carrying WebSockets and long requests:
# they are ended after a minute, so reloads cannot pile workers up.
worker_shutdown_timeout 60s;
pid ${quoted(`${c.runDir}/nginx.pid`)};
error_log stderr warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  client_body_temp_path ${quoted(`${c.runDir}/client-body`)};
  proxy_temp_path ${quoted(`${c.runDir}/proxy`)};
  fastcgi_temp_path ${quoted(`${c.runDir}/fastcgi`)};
  uwsgi_temp_path ${quoted(`${c.runDir}/uwsgi`)};
  scgi_temp_path ${quoted(`${c.runDir}/scgi`)};
  js_import filter from ${quoted(`${c.runDir}/response-filter.js`)};
  # Lectern's relay sets no limit on a request body, and streams bodies and answers as they
  # come: nginx does not spool a body to disk first (an anonymous client could fill it).
  client_max_body_size 0;
  proxy_request_buffering off;
  # Request headers as large as Node's parser takes (16 KB), not nginx's 8 KB a line.
  large_client_header_buffers 4 16k;
  proxy_http_version 1.1;
  proxy_buffering off;
  # An app's answer headers up to 16 KB, as Node's parser takes them.
  proxy_buffer_size 16k;
  proxy_buffers 8 16k;
  # The app's instructions to nginx itself are not followed, as Lectern's relay ignores them.
  proxy_ignore_headers X-Accel-Redirect X-Accel-Expires X-Accel-Limit-Rate X-Accel-Buffering X-Accel-Charset;
  proxy_hide_header X-Accel-Redirect;
  proxy_hide_header X-Accel-Expires;
  proxy_hide_header X-Accel-Limit-Rate;
  proxy_hide_header X-Accel-Buffering;
  proxy_hide_header X-Accel-Charset;
  proxy_read_timeout 3600s;
  proxy_send_timeout 3600s;
  map $http_upgrade $lectern_connection { default upgrade; "" ""; }
  map $http_x_forwarded_proto $lectern_in_proto { "" $scheme; default $http_x_forwarded_proto; }
  map $http_x_forwarded_host $lectern_in_host { "" $http_host; default $http_x_forwarded_host; }
  upstream lectern_decide { server unix:${c.decideSocket}; keepalive 64; }
  upstream lectern_pages { server unix:${c.pagesSocket}; keepalive 64; }
  include ${quoted(`${c.runDir}/upstreams.conf`)};
  server {
    listen ${c.listen};
    location / {
      auth_request /__lectern_decide__;
${fromDecide}
      # Not Lectern's to relay fast (decide.ts answered 401), or decide could not answer (500):
      # Lectern's content origin takes the request as it came in. A process that could not be
      # reached (502) too, unless the request may have done something there already.
      error_page 401 500 = @lectern;
      error_page 502 = @lectern_after_502;
      proxy_pass http://$lectern_upstream$lectern_uri;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_set_header Cookie $lectern_cookie;
      proxy_set_header Authorization $lectern_authorization;
      proxy_set_header X-RSC-Authorization "";
      proxy_set_header RStudio-Connect-Credentials $lectern_credentials;
      proxy_set_header Shiny-Server-Credentials $lectern_credentials;
      proxy_set_header X-Lectern-User $lectern_user;
      proxy_set_header ${CREDENTIALS_SIGNATURE_HEADER} $lectern_signature;
      proxy_set_header ${PROXY_SECRET_HEADER} "";
      proxy_set_header X-Lectern-Base-Path $lectern_base_path;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $lectern_forwarded_proto;
      proxy_set_header X-Forwarded-Host $lectern_forwarded_host;
      js_header_filter filter.headers;
    }
    location = /__lectern_decide__ {
      internal;
      proxy_pass http://lectern_decide;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-Upgrade $http_upgrade;
      # Decide's answer carries the viewer's cookies and credentials: room for all of them.
      proxy_buffer_size 64k;
      proxy_buffers 4 64k;
    }
    location @lectern {
      ${handOver(fwdProto, fwdHost)}
    }
    location @lectern_after_502 {
      # Only a request that may be repeated is sent again, as Lectern's relay retries.
      if ($request_method !~ ^(GET|HEAD|OPTIONS)$) { return 502; }
      ${handOver(fwdProto, fwdHost)}
    }
  }
}
`;
}
