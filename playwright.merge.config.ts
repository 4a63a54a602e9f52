/**
 * For `npx playwright merge-reports --config playwright.merge.config.ts <blob folder>`: merges the
 * blob reports of several shards or machines into one HTML report and one JUnit file. `testDir`
 * names the folder the specs live in relative to this file, so blobs written on machines that
 * checked the project out at different paths still map onto the same tests.
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  reporter: [
    ['html', { outputFolder: process.env.TROPIC_MERGED_HTML ?? 'reports/merged/playwright-report', open: 'never' }],
    ['junit', { outputFile: process.env.TROPIC_MERGED_JUNIT ?? 'reports/merged/junit.xml' }],
  ],
});
