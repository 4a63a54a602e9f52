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
  const t = cfg.target;
  switch (t.kind) {
    case 'embedded':
      return startEmbedded(t.modelConfig);
    case 'tvl-process':
      return startTvlProcess({ command: t.command, argv: t.argv, env: t.env, port: t.portBase + 1 + slot, configFile: t.modelConfig, startupTimeoutMs: t.startupTimeoutMs, declaredVersion: t.declaredVersion });
    case 'rig':
      if (!t.url) throw new TargetError(`TROPIC_RIGS=${t.pool}: a pooled rig is leased per worker by the target fixture (fixtures/rig-lease.ts), not started here`, 'TH_RIGS');
      return connectRig(t, cfg.transportOptions);
    case 'tvl-container':
    case 'model-container':
      return startContainerTarget(cfg, slot);
  }
}
