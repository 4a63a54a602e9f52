/**
 * `tropic-harness/model`: the embedded TROPIC01 model, its ts-tvl-compatible TCP server and its
 * configuration (ts-tvl YAML), for tools that want a model without the Playwright fixtures.
 */
export { ModelServer, DEFAULT_MODEL_PORT, DEFAULT_MODEL_ADDRESS, DEFAULT_IDLE_TIMEOUT_MS, type ModelServerOptions, type ServerStats } from './model/server.js';
export { TropicModel, formatLogLine, type ModelLog } from './model/chip.js';
export type { LogLevel } from './model/log.js';
export { loadModelConfig, parseModelConfig, dumpModelConfig, modelConfigSchema, type ModelConfig, type RawModelConfig } from './model/model-config.js';
export { generateDefaultConfig, type GeneratedConfig } from './model/generate-config.js';
export { DEFAULT_CONFIG_DIR, DEFAULT_MODEL_CONFIG, DEFAULT_PAIRING_KEY } from './paths.js';
