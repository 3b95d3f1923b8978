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
      to: { path: '^(proxy|scheduler)/|^src/(api|web|cli)/' },
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
      name: 'express-only-at-the-edges',
      severity: 'error',
      from: { path: '^(src|runtimes|scheduler)/', pathNot: '^src/(api|web|server\\.ts)' },
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
