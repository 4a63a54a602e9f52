import type { HarnessConfig } from '../config/env.js';
import { TargetError } from '../errors.js';
import { startEmbedded } from './embedded.js';
import { startTvlProcess } from './tvl-process.js';
import { connectRig } from './rig.js';
import { startContainerTarget } from './container.js';
import type { TargetHandle } from './target.js';

export type { TargetHandle } from './target.js';

/** Start (or attach to) the configured target for one worker slot. */
export async function startTarget(cfg: HarnessConfig, slot: number): Promise<TargetHandle> {
  switch (cfg.TROPIC_TARGET) {
    case 'embedded':
      return startEmbedded(cfg.TROPIC_MODEL_CONFIG);
    case 'tvl-process':
      return startTvlProcess({ command: cfg.TVL_COMMAND!, port: cfg.TVL_PORT_BASE + 1 + slot, configFile: cfg.TROPIC_MODEL_CONFIG, startupTimeoutMs: cfg.TVL_STARTUP_TIMEOUT_MS });
    case 'rig':
      return connectRig(cfg.TROPIC_RIG!, cfg.TROPIC_RIG_NAME);
    case 'tvl-container':
    case 'model-container':
      return startContainerTarget(cfg, slot);
    default:
      throw new TargetError(`unknown target kind ${String(cfg.TROPIC_TARGET)}`);
  }
}
