/** Remove what a crashed earlier run left behind: labelled containers and tvl processes. */
import { removeLeftoverContainers } from './container.js';
import { stopAllTvlProcesses } from './tvl-process.js';
import { resolveConfig } from '../config/env.js';

export default function globalSetup(): void {
  const cfg = resolveConfig();
  const procs = stopAllTvlProcesses();
  const containers = cfg.TROPIC_TARGET.endsWith('container') ? removeLeftoverContainers() : 0;
  if (procs || containers) process.stderr.write(`tropic-harness: removed ${procs} leftover process(es) and ${containers} container(s) of an earlier run\n`);
}
