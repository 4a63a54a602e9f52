/** Stop the per-slot target processes and containers at the end of the run. */
import { removeLeftoverContainers } from './container.js';
import { stopAllTvlProcesses } from './tvl-process.js';
import { resolveConfig } from '../config/env.js';

export default function globalTeardown(): void {
  stopAllTvlProcesses();
  if (resolveConfig().TROPIC_TARGET.endsWith('container')) removeLeftoverContainers();
}
