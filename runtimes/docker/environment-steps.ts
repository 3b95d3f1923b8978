import type Docker from 'dockerode';
import type { Manifest } from '../../src/domain/manifest.ts';
import { SANDBOX_PATHS } from '../content-process.ts';
import type { RestoredEnvironment } from '../environments/environment.ts';
import { readRequirements } from '../environments/python-env.ts';
import { checkRequirements, requirementsPolicyError } from '../environments/python-requirements.ts';
import {
  countedRequirements,
  describeRPlanProblems,
  parseRLibraryListing,
  planIsSatisfied,
  planRLibrary,
  rPackageRequirements,
  type RLibraryState,
} from '../environments/r-packages.ts';
import { rCode } from '../environments/r-scripts.ts';
import type { Interpreter } from '../interpreters.ts';
import type { RuntimeImage } from '../../src/domain/runtime-images.ts';
import { runInImage } from './runtime-images.ts';
import { PIP_INSTALL_QUIETLY } from '../environments/pip-install.ts';
import { KeyedShare } from '../../src/domain/keyed-lock.ts';

/** The part of a bundle image's Dockerfile that restores its environment, and the files it reads. */
export interface EnvironmentSteps {
  /** Written under `env/` in the build context; copied to /lectern/env-spec before `run`. */
  files: Record<string, string>;
  /** Dockerfile instructions (exec-form RUN lines); empty when nothing is installed. */
  run: string[];
  /** What processes get, with paths as the container sees them. */
  environment: Omit<RestoredEnvironment, 'key' | 'reused'>;
  interpreter: Interpreter;
}

export interface StepsRequest {
  language: 'r' | 'python';
  image: RuntimeImage;
  bundleDir: string;
  manifest: Manifest;
  managed: boolean;
  log(line: string): void;
}

const ENV = SANDBOX_PATHS.env;
const SPEC = '/lectern/env-spec';

/** Exec form: nothing of the bundle's text passes through a shell. */
function runLine(argv: string[]): string {
  return `RUN ${JSON.stringify(argv)}`;
}

/**
 * Python: a venv that sees the image's packages (Debian's satisfy the pins they match), filled
 * by pip from the configured index, as the local backend does; only the requirements file is
 * in the layer's input, so an unchanged environment is a cached layer.
 */
export async function pythonSteps(req: StepsRequest, indexUrl: string): Promise<EnvironmentSteps> {
  const interpreter: Interpreter = { language: 'python', path: '/usr/bin/python3', version: req.image.python ?? 'unknown' };
  if (!req.managed) {
    req.log(`Environment management is off for this Python content: running with the image's Python ${interpreter.version} and its packages, as they are.`);
    return { files: {}, run: [], environment: { dir: null, executable: interpreter.path, env: {} }, interpreter };
  }
  const { name, text } = await readRequirements({ ...req, interpreter });
  const { checked, problems } = checkRequirements(text);
  if (problems.length > 0) throw requirementsPolicyError(name, problems);
  const python = `${ENV}/bin/python`;
  const run = [runLine(['/usr/bin/python3', '-m', 'venv', '--system-site-packages', '--without-pip', ENV])];
  if (checked.canonical.trim()) {
    req.log(`The image's build installs the requirements with pip from ${indexUrl} (a cached layer while they are unchanged).`);
    run.push(
      `ENV PIP_CONFIG_FILE=/dev/null`,
      runLine([python, ...PIP_INSTALL_QUIETLY, '--no-cache-dir', '--index-url', indexUrl, '-r', `${SPEC}/requirements.txt`]),
    );
  }
  return {
    files: { 'requirements.txt': checked.canonical },
    run,
    environment: { dir: null, executable: python, env: { VIRTUAL_ENV: ENV, PATH_PREPEND: `${ENV}/bin` } },
    interpreter,
  };
}

// One listing per image: what its R has installed does not change.
const listings = new KeyedShare<string, RLibraryState>({ keepResults: true });

function listLibrary(docker: Docker, image: RuntimeImage): Promise<RLibraryState> {
  return listings.run(image.id, () =>
    runInImage(docker, image.id, ['Rscript', '--no-init-file', '-e', rCode('installed-packages')]).then(parseRLibraryListing),
  );
}

/**
 * R: the packages the manifest lists that the image's library lacks at the recorded version,
 * installed from the configured repository into a library of the image's own (`R_LIBS`).
 */
export async function rSteps(docker: Docker, req: StepsRequest, repository: string): Promise<EnvironmentSteps> {
  const interpreter: Interpreter = { language: 'r', path: '/usr/bin/R', version: req.image.r ?? 'unknown' };
  const reqs = rPackageRequirements(req.manifest);
  const none: EnvironmentSteps = { files: {}, run: [], environment: { dir: null, executable: interpreter.path, env: {} }, interpreter };
  if (!req.managed) {
    req.log(`Environment management is off for this R content: running with the image's R ${interpreter.version} and its packages, as they are.`);
    return none;
  }
  const state = await listLibrary(docker, req.image);
  const plan = planRLibrary(reqs, state);
  if (planIsSatisfied(plan)) {
    req.log(`All ${plan.required.length} R packages are installed in ${req.image.name} (R ${state.rVersion}); nothing to install.`);
    return none;
  }
  const toInstall = [...plan.missing, ...plan.mismatched.map((m) => m.requirement)].sort((a, b) => (a.name < b.name ? -1 : 1));
  req.log(
    `${toInstall.length} of ${countedRequirements(reqs).length} R packages are not in ${req.image.name} at the required version; installing them from ${repository} while building the image:`,
  );
  for (const p of describeRPlanProblems(plan)) req.log(`  - ${p}`);
  const specs = toInstall.map((r) => `${r.name}=${r.version ?? ''}`);
  // The install script tries its best; the check after it fails the build on anything missing.
  const check = `lib <- "${ENV}"; want <- readLines("${SPEC}/r-packages.txt"); ip <- installed.packages(lib.loc = lib, noCache = TRUE); bad <- want[!(sub("=.*$", "", want) %in% rownames(ip))]; if (length(bad)) { message("Not installed from ${repository}: ", paste(bad, collapse = ", ")); quit(status = 1) }`;
  return {
    files: { 'r-packages.txt': specs.join('\n') + '\n' },
    run: [
      runLine(['mkdir', '-p', ENV]),
      runLine(['Rscript', '--no-init-file', '-e', rCode('install-packages'), ENV, repository, '60', ...specs]),
      runLine(['Rscript', '--no-init-file', '-e', check]),
    ],
    environment: { dir: null, executable: interpreter.path, env: { R_LIBS: ENV } },
    interpreter,
  };
}
