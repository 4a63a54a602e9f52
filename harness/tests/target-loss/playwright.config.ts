/**
 * A small run for target-loss.test.ts: the target's setup and teardown projects around a project
 * whose second test kills the target's server. Run with TROPIC_TARGET=tvl-process, a private
 * TROPIC_WORKSPACE and --output (the parent test gives both).
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  reporter: [['list'], ['json', { outputFile: process.env.H3_LOSS_JSON ?? 'loss-report.json' }]],
  workers: 1,
  retries: 0,
  timeout: 30_000,
  projects: [
    { name: 'loss setup', testDir: '../../../fixtures/lifecycle', testMatch: /target\.setup\.ts$/, teardown: 'loss teardown' },
    { name: 'loss teardown', testDir: '../../../fixtures/lifecycle', testMatch: /target\.teardown\.ts$/ },
    { name: 'loss', testDir: '.', testMatch: /lost-target\.run\.ts$/, dependencies: ['loss setup'] },
  ],
});
