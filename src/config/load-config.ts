import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, ENV_IGNORED_PREFIXES, ENV_NON_SETTINGS, ENV_VARS, type Config } from './schema.ts';

// Passed on to package installers so they can reach an index through the server's proxy.
const NETWORK_ENV = [
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Raw = Record<string, unknown>;

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** A config file (YAML or JSON); overrides LECTERN_CONFIG. */
  file?: string;
  /** Values applied over the file and before the environment (used by tests). */
  overrides?: Raw;
}

function setPath(target: Raw, keys: readonly string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Raw;
  }
  node[keys[keys.length - 1]!] = value;
}

function deepMerge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? deepMerge(b as Raw, v as Raw) : v;
  }
  return out;
}

function readConfigFile(file: string, problems: string[]): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`config file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return {};
  }
  try {
    const parsed: unknown = parseYaml(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`config file ${file}: must hold a mapping of settings`);
      return {};
    }
    return parsed as Raw;
  } catch (err) {
    problems.push(`config file ${file}: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`);
    return {};
  }
}

/**
 * Defaults, then the optional config file, then LECTERN_* variables. Every problem found is
 * collected so that one failed start tells the administrator everything to fix.
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const sources = new Map<string, string>();

  const file = opts.file ?? env.LECTERN_CONFIG;
  let raw: Raw = file ? readConfigFile(file, problems) : {};
  if (opts.overrides) raw = deepMerge(raw, opts.overrides);

  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('LECTERN_') || value === undefined) continue;
    const keys = ENV_VARS[name];
    if (keys) {
      setPath(raw, keys, value);
      sources.set(keys.join('.'), name);
    } else if (!ENV_NON_SETTINGS.has(name) && !ENV_IGNORED_PREFIXES.some((p) => name.startsWith(p))) {
      problems.push(`${name}: not a Lectern setting (known: ${Object.keys(ENV_VARS).join(', ')})`);
    }
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join('.');
      const from = sources.get(key) ?? (file ? `in ${file}` : undefined);
      const label = key || '(top level)';
      problems.push(`${label}${from ? ` (${from})` : ''}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const config = result.data;
  resolveSecrets(config, env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  config.dataDir = path.resolve(config.dataDir);
  config.configFile = file ? path.resolve(file) : undefined;
  config.networkEnv = Object.fromEntries(NETWORK_ENV.filter((k) => env[k] !== undefined).map((k) => [k, env[k]!]));
  return config;
}

/** The OIDC client secrets, from their files or variables (never from the configuration itself). */
function resolveSecrets(config: Config, env: NodeJS.ProcessEnv, problems: string[]): void {
  config.auth.oidc.forEach((p, i) => {
    const where = `auth.oidc.${i}`;
    if (p.clientSecretEnv !== undefined) {
      const v = env[p.clientSecretEnv];
      if (!v) problems.push(`${where}.clientSecretEnv: the variable ${p.clientSecretEnv} is not set`);
      else p.clientSecret = v;
      return;
    }
    try {
      const v = readFileSync(p.clientSecretFile!, 'utf8').trim();
      if (!v) problems.push(`${where}.clientSecretFile: ${p.clientSecretFile} is empty`);
      else p.clientSecret = v;
    } catch (err) {
      problems.push(`${where}.clientSecretFile: ${p.clientSecretFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  });
}
