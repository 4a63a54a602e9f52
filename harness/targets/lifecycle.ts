/**
 * What a target needs once per run, around the workers: the setup project prepares it (removes
 * what a crashed earlier run left, builds the container image), the teardown project removes the
 * per-slot processes and containers the workers started. Both are Playwright projects
 * (fixtures/lifecycle), so they run only when a spec project that depends on them runs.
 */
import type { HarnessConfig } from '../config/env.js';
import { isContainerKind, prepareContainerImage, removeContainers, listContainers } from './container.js';
import { stopAllTvlProcesses } from './tvl-process.js';

export interface PrepareReport {
  removedProcesses: number;
  removedContainers: number;
  image?: { image: string; built: boolean; ms: number };
}

export async function prepareTarget(cfg: HarnessConfig, progress: (line: string) => void): Promise<PrepareReport> {
  const report: PrepareReport = { removedProcesses: 0, removedContainers: 0 };
  if (cfg.TROPIC_TARGET === 'tvl-process') report.removedProcesses = (await stopAllTvlProcesses()).stopped.length;
  if (isContainerKind(cfg.TROPIC_TARGET)) {
    report.removedContainers = await removeContainers(cfg);
    report.image = await prepareContainerImage(cfg, progress);
  }
  if (report.removedProcesses || report.removedContainers) progress(`removed ${report.removedProcesses} process(es) and ${report.removedContainers} container(s) left by an earlier run`);
  return report;
}

/** Stop everything the run started; returns what was stopped and what is still there (must be none). */
export async function teardownTarget(cfg: HarnessConfig): Promise<{ stopped: number; remaining: number }> {
  if (cfg.TROPIC_TARGET === 'tvl-process') {
    const { stopped, survivors } = await stopAllTvlProcesses();
    return { stopped: stopped.length, remaining: survivors.length };
  }
  if (isContainerKind(cfg.TROPIC_TARGET)) {
    const stopped = await removeContainers(cfg);
    return { stopped, remaining: (await listContainers(cfg)).length };
  }
  return { stopped: 0, remaining: 0 };
}
