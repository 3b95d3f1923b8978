import type { SharedLock } from '../../src/domain/keyed-lock.ts';
import type { InstallAccount, InstallSandbox } from './install-area.ts';

/** How the Python restorer (python-env.ts) builds environments: from the server's config. */
export interface PythonRestorerOptions {
  /** Environments live in `<envRoot>/<key>`; pip's cache in `<envRoot>/.pip-cache`. */
  envRoot: string;
  /** pip's `--index-url` (the server's Python package index). */
  indexUrl: string;
  extraIndexUrls?: string[];
  /** The whole `pip install`; past it pip and its children are killed. Default 20 minutes. */
  installTimeoutMs?: number;
  /** Proxy and certificate variables pip needs to reach the index (from the server's config). */
  networkEnv?: Record<string, string>;
  /** pip's `--timeout` for one network operation, in seconds. Default 30. */
  networkTimeoutSeconds?: number;
  /** pip's `--retries` for a failed connection. Default 2. */
  retries?: number;
  /**
   * The unprivileged account `python -m venv` and pip (and so every package's setup.py) run
   * as: the account content runs as. Null or absent: they run as the server's own user, as
   * before; pass it whenever Lectern runs as root, since building runs the packages' code. Set,
   * it requires root. See createBuildArea for what the account can and cannot reach.
   */
  runAs?: InstallAccount | null;
  /**
   * With runAs: where builds happen, a directory the account can reach (the data directory is
   * 0700), ideally on the file system of envRoot so the finished environment is renamed rather
   * than copied into place. Default os.tmpdir().
   */
  buildRoot?: string;
  /**
   * pip's `--only-binary=:all:`: wheels only, so no package's build code runs at all. Default
   * false: source distributions from the configured index are built (as runAs when set).
   */
  binaryOnly?: boolean;
  /** With runAs: the sandbox installers run in (InstallSandbox). */
  sandbox?: InstallSandbox;
  /** Held shared while an environment is restored and listed; a removal of the cache holds it alone (runtime-caches.ts). */
  gate?: SharedLock;
}
