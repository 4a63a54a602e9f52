/**
 * The Allure report as a person meets it: a real spec run writes Allure results, `tropic-harness
 * report` builds the Allure 3 report, a loopback web server serves it, and Debian's Chromium
 * (driven by Playwright through executablePath; `apt-get install chromium`, or CHROMIUM=<path>)
 * shows the test, its driver-command steps with their results, and its frame-log attachment.
 */
import { runChild } from './run-child.js';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, expect, chromium, type Browser } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SPEC = 'CHIP_ID is 128 bytes and decodes';
// Headless as root in a sandbox with no outside network: without the background-networking flags
// Chromium keeps dialling Google's hosts and the closed network refuses each attempt.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Planted failures, one per category, through the project's own fixtures. */
const PLANTED_SPEC = `
import { test, expect } from ${JSON.stringify(path.join(PROJECT_ROOT, 'fixtures', 'index.js'))};
test('planted: an assertion fails', async ({ tropic }) => {
  expect((await tropic.chipId()).serial, 'planted').toBe('not this serial');
});
test('planted: the chip answers an L3 error', async ({ session }) => {
  await session.eccKeyRead(0);
});
test('planted: the link stalls', async ({ chaos }) => {
  const { tropic, proxy } = await chaos({}, { ioTimeoutMs: 300, receiveRetries: 0 });
  proxy.setFaults({ stallAt: proxy.stats.hostMessages + 2 });
  await tropic.getInfo(1);
});
`;
const PLANTED_CONFIG = `
import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: '.',
  testMatch: /planted\\.spec\\.ts$/,
  reporter: [['allure-playwright', { resultsDir: process.env.TROPIC_ALLURE_RESULTS }]],
});
`;

const run = runChild;

function serve(root: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = path.join(root, rel.endsWith('/') ? `${rel}index.html` : rel);
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('the generated report shows a test, its driver steps, its frame-log attachment and the failure categories in Chromium', async () => {
  test.setTimeout(240_000);
  expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM=<path>)`).toBe(true);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-report-'));
  let server: http.Server | undefined;
  let browser: Browser | undefined;
  try {
    const results = path.join(dir, 'allure-results');
    const env = { ...process.env, TROPIC_TARGET: 'embedded', TROPIC_ALLURE_RESULTS: results, CI: '', TROPIC_FRAMELOG_VIEWS: 'always' };
    const specRun = await run('npx', ['playwright', 'test', '--project=specs', '--grep', SPEC], env);
    expect(specRun.code, specRun.out).toBe(0);
    // A second results folder (as from another machine) with planted failures of each category.
    mkdirSync(path.join(PROJECT_ROOT, 'reports'), { recursive: true });
    const planted = mkdtempSync(path.join(PROJECT_ROOT, 'reports', '.tmp-planted-'));
    let plantedRun: { code: number | null; out: string };
    try {
      writeFileSync(path.join(planted, 'planted.spec.ts'), PLANTED_SPEC);
      writeFileSync(path.join(planted, 'planted.config.ts'), PLANTED_CONFIG);
      plantedRun = await run('npx', ['playwright', 'test', '-c', path.join(planted, 'planted.config.ts'), '--output', path.join(dir, 'planted-out')], { ...env, TROPIC_ALLURE_RESULTS: path.join(dir, 'planted-results') });
    } finally {
      rmSync(planted, { recursive: true, force: true });
    }
    expect(plantedRun.code, plantedRun.out).toBe(1);
    const report = path.join(dir, 'allure-report');
    const gen = await run(process.execPath, ['dist/harness/cli/main.js', 'report', '--results', results, path.join(dir, 'planted-results'), '--output', report, '--history', path.join(dir, 'history.jsonl')], env);
    expect(gen.code, gen.out).toBe(0);

    server = await serve(report);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(20_000);
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`);

    // Find the test through the report's own search and tree.
    await page.getByPlaceholder('Search tests').fill('CHIP_ID is 128');
    await page.getByText('target.setup.ts').waitFor({ state: 'detached' });
    const leaf = page.getByText(SPEC, { exact: true });
    for (let depth = 0; depth < 6 && (await leaf.count()) === 0; depth++) {
      await page.getByTestId('tree-section-title').last().click();
    }
    await leaf.first().click();

    // The test page: title, status, target label, the driver command step and its result.
    await expect(page.getByText(`specs/l2-frames.spec.ts › Get_Info_Req › ${SPEC}`)).toBeVisible();
    await expect(page.getByText('Passed', { exact: true }).first()).toBeVisible();
    // The labels list shows its first few; the target label may be behind "Show more".
    const more = page.getByRole('button', { name: 'Show more' });
    if (await more.count()) await more.first().click();
    await expect(page.getByText('embedded', { exact: true }).first()).toBeVisible();
    const step = page.getByText('getInfo(objectId=0x01, blockIndex=0)');
    await expect(step).toBeVisible();
    await step.click();
    await expect(page.getByText(/^→ 128 B [0-9a-f]{32}…$/)).toBeVisible({ timeout: 20_000 });

    // The frame log, listed under Attachments and readable.
    await page.getByRole('button', { name: /^Attachments \d+$/ }).click();
    const attachment = page.getByText('frame-log.jsonl', { exact: true });
    await expect(attachment).toBeVisible();
    await expect(page.getByText('frame-log.decoded.txt', { exact: true })).toBeVisible();
    // The decoded trace (text/plain) opens inline: the Get_Info request as the model decoded it.
    await page.getByRole('button', { name: /frame-log\.decoded\.txt/ }).click();
    await expect(page.getByText(/GET_INFO/).first()).toBeVisible();

    // Categories: each planted failure under its own category, by the error codes in messages.
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html#categories`);
    for (const name of ['Assertion failures', 'Chip result errors', 'Transport faults']) await expect(page.getByText(name, { exact: true }).first()).toBeVisible();
    await expect(page.getByText('Product errors', { exact: true })).toHaveCount(0);
  } finally {
    await browser?.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
