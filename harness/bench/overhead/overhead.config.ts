/**
 * Playwright configuration for the fixture-overhead benchmark only (`npm run bench` runs it): the
 * project's fixtures and Allure reporter on trivial tests, no setup projects (the embedded target
 * starts in the worker).
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: /overhead\.bench\.ts$/,
  timeout: 60_000,
  reporter: [['allure-playwright', { resultsDir: process.env.TROPIC_ALLURE_RESULTS ?? 'reports/bench/allure-results', detail: true }]],
});
