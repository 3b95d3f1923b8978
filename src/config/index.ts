export { loadConfig, ConfigError } from './load-config.ts';
export { type Config, type ConfigInput } from './schema.ts';
export { resolveSecretKey } from './secret-key.ts';
