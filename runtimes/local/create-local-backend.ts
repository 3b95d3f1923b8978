import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config/schema.ts';
import { discoverInterpreters } from '../discover.ts';
import { SharedLock } from '../../src/domain/keyed-lock.ts';
import { createPythonRestorer } from '../environments/python-env.ts';
import { PYTHON_ENV_MARKER } from '../environments/python-env-dir.ts';
import { createRRestorer, R_ENV_MARKER } from '../environments/r-env.ts';
import { LocalRuntimeCaches } from '../environments/runtime-caches.ts';
import type { BackendSetup } from '../runtime.ts';
import { createJobDirectory } from '../jobs/job-directory.ts';
import { JobStore } from '../jobs/job-store.ts';
import { LocalBackend } from './local-backend.ts';
import { ContentUids } from './content-uids.ts';
import { LocalInstallSandbox } from './install-sandbox.ts';
import { NetworkLinks } from './netns.ts';
import { PackageProxy, packageHosts } from './package-proxy.ts';
import { createResourceLimiter } from './resource-limits.ts';
import type { RunAs, SandboxOptions } from './sandbox.ts';

function lookupUser(name: string): RunAs {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { name, uid, gid };
  } catch {
    throw new Error(`The run-as account "${name}" does not exist: create it (useradd --system ${name}) or set LECTERN_RUN_AS.`);
  }
}

function findBwrap(): string | undefined {
  return ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].find((p) => existsSync(p));
}

/** The local-process backend, built from the server's settings. */
export async function createLocalBackend(config: Config): Promise<BackendSetup> {
  const rc = config.runtime;
  const warnings: string[] = [];
  const asRoot = process.getuid?.() === 0;
  const bwrap = findBwrap();
  if (rc.sandbox === 'bwrap' && !bwrap) throw new Error('LECTERN_SANDBOX=bwrap but bubblewrap is not installed (apt-get install bubblewrap).');
  const mode = rc.sandbox === 'none' || !bwrap ? 'none' : 'bwrap';
  if (mode === 'none')
    warnings.push(
      asRoot
        ? 'bubblewrap is not installed: content cannot run while Lectern runs as root (apt-get install bubblewrap)'
        : 'content runs without a sandbox (bubblewrap is not installed)',
    );
  const runAs = asRoot ? lookupUser(rc.runAs) : null;
  const masked = config.configFile ? [config.configFile] : [];
  // A Quarto install outside /usr (/opt/quarto/bin/quarto) is made visible as a whole.
  const extraReadOnly = rc.quarto && !rc.quarto.startsWith('/usr/') ? [path.dirname(path.dirname(path.resolve(rc.quarto)))] : [];
  // As root, each item runs as a uid of its own, in a network namespace of its own.
  const [firstUid, lastUid] = rc.contentUids.split('-').map(Number) as [number, number];
  const uids = asRoot && mode === 'bwrap' ? new ContentUids(config.dataDir, firstUid, lastUid - firstUid + 1) : null;
  const accounts = uids ? (guid: string) => uids.of(guid) : null;
  const network = accounts ? new NetworkLinks(rc.contentNetwork) : null;
  // memory_limit and cpu_limit: cgroups of the server's own where it may make them.
  const limiter = network ? createResourceLimiter(`lectern-${process.pid}`) : null;
  if (limiter?.kind === 'prlimit')
    warnings.push('cgroups are not writable here: memory_limit caps the address space (prlimit) and cpu_limit is not applied to local processes');
  const netWarning = network?.warning();
  if (netWarning) warnings.push(netWarning);
  // Package builds run the bundle's code too: in the same sandbox, as the item's account.
  const packageProxy = network ? new PackageProxy(path.join(network.root, 'proxy'), packageHosts([rc.pythonIndexUrl, rc.rRepository], rc.packageHosts)) : null;
  await packageProxy?.listen();
  const upstreamProxy = Object.keys(config.networkEnv ?? {}).some((k) => /^(https?|all)_proxy$/i.test(k));
  const installSandbox = accounts
    ? new LocalInstallSandbox({
        bwrapPath: bwrap ?? 'bwrap',
        masked,
        network,
        outbound: rc.contentNetwork === 'outbound',
        proxySocket: packageProxy?.socketPath ?? null,
        upstreamProxy,
      })
    : null;
  const sandbox: SandboxOptions = { mode, bwrapPath: bwrap ?? 'bwrap', accounts, network: network ? rc.contentNetwork : null, masked, extraReadOnly };

  const found = await discoverInterpreters({ python: rc.python, r: rc.r });
  for (const m of found.missing) warnings.push(`interpreter ${m} does not answer; content needing it cannot run`);

  const jobStore = new JobStore(path.join(config.dataDir, 'jobs'));
  // Each language's environments are a runtime cache per version: builds share the gate, a removal holds it alone.
  const pythonRoot = path.join(config.dataDir, 'envs', 'python');
  const rRoot = path.join(config.dataDir, 'envs', 'r');
  const gates = { python: new SharedLock(), r: new SharedLock() };
  const backend = new LocalBackend({
    jobs: jobStore,
    sandbox,
    network,
    limiter,
    packageProxy,
    interpreters: { python: found.python, r: found.r },
    restorers: {
      // Installers run bundle-controlled code (setup.py, configure): as the content account.
      python: createPythonRestorer({
        envRoot: pythonRoot,
        gate: gates.python,
        indexUrl: rc.pythonIndexUrl,
        networkEnv: config.networkEnv ?? {},
        runAs: runAs && { uid: runAs.uid, gid: runAs.gid },
        ...(installSandbox ? { sandbox: installSandbox } : {}),
      }),
      r: createRRestorer({
        envRoot: rRoot,
        gate: gates.r,
        repository: rc.rRepository,
        runAs: runAs && { uid: runAs.uid, gid: runAs.gid },
        ...(installSandbox ? { sandbox: installSandbox } : {}),
      }),
    },
  });
  return {
    backend,
    jobs: createJobDirectory(jobStore, backend),
    interpreters: { python: found.python, r: found.r },
    runtimeImages: async () => [],
    summary: {
      python: found.python,
      r: found.r,
      sandbox: sandbox.mode,
      contentUids: accounts ? rc.contentUids : undefined,
      network: sandbox.network ?? 'host',
      limits: limiter?.kind ?? 'none',
    },
    warnings,
    outputOwner: accounts,
    caches: new LocalRuntimeCaches([
      { language: 'Python', root: pythonRoot, marker: PYTHON_ENV_MARKER, versionField: 'version', gate: gates.python },
      { language: 'R', root: rRoot, marker: R_ENV_MARKER, versionField: 'rVersion', gate: gates.r },
    ]),
  };
}
