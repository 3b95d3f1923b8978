// The dependency rules of docs/architecture.md, enforced by `npm run lint`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Import cycles make start-up order and tests fragile.', from: {}, to: { circular: true } },
    {
      name: 'runtimes-stay-low',
      severity: 'error',
      comment: 'runtimes/ may use src/domain and src/config types only.',
      from: { path: '^runtimes/' },
      to: { path: '^(proxy|scheduler)/|^src/(?!domain/|config/)' },
    },
    {
      name: 'services-do-not-know-delivery',
      severity: 'error',
      comment: 'Services talk to the proxy or scheduler through interfaces in src/domain, wired in the composition root.',
      from: { path: '^src/(services|repositories|domain|db)/' },
      to: { path: '^(proxy|scheduler)/|^src/(api|web|http|auth|cli)/' },
    },
    {
      name: 'repositories-below-services',
      severity: 'error',
      from: { path: '^src/(repositories|db)/' },
      to: { path: '^src/services/' },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain holds types and rules, nothing that does I/O.',
      from: { path: '^src/domain/' },
      to: { path: '^src/(?!domain/)|^(proxy|scheduler|runtimes)/' },
    },
    {
      name: 'knex-only-in-db-layer',
      severity: 'error',
      from: { path: '^(src|proxy|scheduler|runtimes)/', pathNot: '^src/(db|repositories)/' },
      to: { path: 'node_modules/(knex|pg|better-sqlite3)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'only-composition-roots-import-wings',
      severity: 'error',
      comment:
        "Only the composition roots reach proxy/, runtimes/ and scheduler/: src/app-context.ts, src/server.ts, src/main.ts, src/proxy-worker.ts (a proxy worker's), src/timed-work.ts (the server's scheduler, split from server.ts), and src/runtime-tools.ts (the CLI's, for `lectern runtimes build`; src/cli itself is not a root).",
      from: { path: '^src/', pathNot: '^src/(app-context|server|main|runtime-tools|proxy-worker|timed-work)\\.ts$' },
      to: { path: '^(proxy|runtimes|scheduler)/' },
    },
    {
      name: 'auth-only-for-web',
      severity: 'error',
      comment: 'Login providers (src/auth) are used by the pages and the browser session (src/web) and the composition roots only.',
      from: { path: '^(src|proxy|scheduler|runtimes)/', pathNot: '^src/(auth/|web/|app-context\\.ts$|server\\.ts$|main\\.ts$)' },
      to: { path: '^src/auth/' },
    },
    {
      name: 'auth-below-web',
      severity: 'error',
      comment: 'A login provider knows users and services, not pages, the API or HTTP plumbing.',
      from: { path: '^src/auth/' },
      to: { path: '^(proxy|scheduler|runtimes)/|^src/(api|web|http|cli)/|node_modules/(express|express-session|csrf-sync|helmet|pino-http)/' },
    },
    {
      name: 'http-below-web-and-api',
      severity: 'error',
      comment: 'src/http holds the HTTP pieces the pages, the API and the proxy share; it imports none of them.',
      from: { path: '^src/http/' },
      to: { path: '^(proxy|scheduler|runtimes)/|^src/(api|web|auth|cli)/|^src/(app-context|core-context|server|main)\\.ts$' },
    },
    {
      name: 'proxy-not-above-web',
      severity: 'error',
      comment: 'proxy/ uses src/http and services; never the pages, the API, logins or the CLI (no src/web <-> proxy cycle).',
      from: { path: '^proxy/' },
      to: { path: '^src/(api|web|auth|cli)/|^scheduler/' },
    },
    {
      name: 'scheduler-stays-in-its-lane',
      severity: 'error',
      comment: 'scheduler/ uses services and runtimes/, never HTTP delivery or the proxy.',
      from: { path: '^scheduler/' },
      to: { path: '^proxy/|^src/(api|web|http|auth|cli)/' },
    },
    {
      name: 'express-only-at-the-edges',
      severity: 'error',
      from: { path: '^(src|runtimes|scheduler)/', pathNot: '^src/(api|web|http|auth|server\\.ts)' },
      to: { path: 'node_modules/(express|express-session|passport|passport-local|csrf-sync|helmet|pino-http)/' },
    },
    {
      name: 'container-backends-not-on-local',
      severity: 'error',
      comment: 'Docker and Swarm share the job code of runtimes/jobs/, never the local backend (processes on this host).',
      from: { path: '^runtimes/(docker|swarm)/' },
      to: { path: '^runtimes/local/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^node_modules' },
  },
};
