/**
 * The Allure report as a person meets it: a real spec run writes Allure results, `tropic-harness
 * report` builds the Allure 3 report, a loopback web server serves it, and Debian's Chromium
 * (driven by Playwright through executablePath; `apt-get install chromium`, or CHROMIUM=<path>)
 * shows the test, its driver-command steps with their results, and its frame-log attachment.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: PROJECT_ROOT, env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

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

test('the generated report shows a test, its driver steps and its frame-log attachment in Chromium', async () => {
  test.setTimeout(240_000);
  expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM=<path>)`).toBe(true);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-report-'));
  let server: http.Server | undefined;
  let browser: Browser | undefined;
  try {
    const results = path.join(dir, 'allure-results');
    const env = { ...process.env, TROPIC_TARGET: 'embedded', TROPIC_ALLURE_RESULTS: results, CI: '' };
    const specRun = await run('npx', ['playwright', 'test', '--project=specs', '--grep', SPEC], env);
    expect(specRun.code, specRun.out).toBe(0);
    const report = path.join(dir, 'allure-report');
    const gen = await run(process.execPath, ['dist/harness/cli/main.js', 'report', '--results', results, '--output', report, '--history', path.join(dir, 'history.jsonl')], env);
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
    await expect(page.getByText(/L2 request GET_INFO len=2 data=0100 crc=ok/).first()).toBeVisible();
  } finally {
    await browser?.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
