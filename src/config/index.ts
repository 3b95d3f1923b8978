export { loadConfig, ConfigError, type LoadConfigOptions } from './load-config.ts';
export { configSchema, ENV_VARS, type Config, type ConfigInput } from './schema.ts';
export { resolveSecretKey, SECRET_KEY_FILE } from './secret-key.ts';
