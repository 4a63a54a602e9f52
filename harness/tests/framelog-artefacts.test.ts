/**
 * What the fixtures leave behind, from a real spec run in a child Playwright: the frame log is
 * written under test-results and attached with its decoded text and HTML; a private key stored
 * with ECC_Key_Store is in no artefact of the run; a failed test shows its last decoded lines;
 * `framelog find` copies a test's log out of the Allure results by title.
 */
import { test, expect } from '@playwright/test';
import { runChild } from './run-child.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { parseFrameLog } from '../framelog/frame-log.js';
import { cli, tmpDir } from './framelog-helpers.js';

/** The key specs/regressions/frame-log-redaction.spec.ts stores (a recognisable test value). */
const PROBE_KEY_HEX = '5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7';

const PLANTED = `
import { test } from '../../fixtures/index.js';
test('planted: fails on an L3 error after a ping', async ({ session }) => {
  await session.ping(new Uint8Array(4));
  await session.eccKeyGenerate(2, 'P256'); // erased again by the restore fixture in teardown
  await session.eccKeyRead(7);
});
`;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const run = runChild;

test.describe.serial('a spec run with frame logs', () => {
  let dir = '';
  let outDir = '';
  let allure = '';
  let runOut = '';
  let runCode: number | null = null;

  test.beforeAll(async () => {
    test.setTimeout(240_000);
    mkdirSync(path.join(PACKAGE_ROOT, 'reports'), { recursive: true });
    dir = mkdtempSync(path.join(PACKAGE_ROOT, 'reports', '.tmp-h4a-artefacts-'));
    outDir = path.join(dir, 'test-results');
    allure = path.join(dir, 'allure-results');
    writeFileSync(path.join(dir, 'planted.spec.ts'), PLANTED);
    writeFileSync(
      path.join(dir, 'pw.config.ts'),
      `import { defineConfig } from '@playwright/test';
export default defineConfig({
  reporter: [['line'], ['allure-playwright', { resultsDir: ${JSON.stringify(allure)} }]],
  projects: [
    { name: 'redaction', testDir: ${JSON.stringify(path.join(PACKAGE_ROOT, 'specs', 'regressions'))}, testMatch: /frame-log-redaction\\.spec\\.ts$/ },
    { name: 'planted', testDir: '.', testMatch: /planted\\.spec\\.ts$/ },
  ],
});
`,
    );
    const r = await run('npx', ['playwright', 'test', '-c', path.join(dir, 'pw.config.ts'), '--output', outDir], { ...process.env, TROPIC_TARGET: 'embedded', CI: '', TROPIC_RECORD_SECRETS: '', TROPIC_FRAMELOG_VIEWS: 'always', TROPIC_RESTORE: 'always' });
    runOut = r.out;
    runCode = r.code;
  });

  test.afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the frame log is written under test-results with its decoded text and HTML (TROPIC_FRAMELOG_VIEWS=always), and is a v2 log with seeds and the L3 command', () => {
    expect(runCode, runOut).toBe(1); // the planted test fails, the redaction spec passes
    expect(runOut).toContain('1 passed');
    const files = filesUnder(outDir);
    const log = files.find((f) => f.endsWith(path.join('-redaction', 'frame-log.jsonl')))!;
    expect(log, files.join('\n')).toBeTruthy();
    for (const name of ['frame-log.decoded.txt', 'frame-log.html']) expect(existsSync(path.join(path.dirname(log), name))).toBe(true);
    const parsed = parseFrameLog(readFileSync(log, 'utf8'), { file: log });
    expect(parsed.version).toBe(2);
    expect(parsed.meta).toMatchObject({ secrets: false, target: { kind: 'embedded' }, chip: { riscvFw: expect.any(String) } });
    expect((parsed.meta as { seeds: { host: string } }).seeds.host).toMatch(/^[0-9a-f]{64}$/);
    expect(parsed.annotations).toContainEqual(expect.objectContaining({ kind: 'l3-command', command: 'ECC_KEY_STORE', args: { slot: 5, curve: 'P256' } }));
  });

  test("the fixture-recorded log replays byte for byte on a fresh embedded model seeded from its header", async () => {
    const log = filesUnder(outDir).find((f) => f.endsWith(path.join('-redaction', 'frame-log.jsonl')))!;
    const r = await cli(['replay', log, '--target', 'embedded']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/matched \d+ \(100\.0%\), diverged 0, errors 0/);
  });

  test('the private key stored with ECC_Key_Store is in no artefact of the run (frame log, decoded text, HTML, Allure results)', () => {
    const files = [...filesUnder(outDir), ...filesUnder(allure)];
    expect(files.some((f) => f.endsWith('.html'))).toBe(true);
    expect(filesUnder(allure).length).toBeGreaterThan(2);
    const b64 = Buffer.from(PROBE_KEY_HEX, 'hex').toString('base64');
    for (const f of files) {
      const body = readFileSync(f);
      const text = body.toString('latin1').toLowerCase();
      expect(text.includes(PROBE_KEY_HEX), `${f} holds the key (hex)`).toBe(false);
      expect(body.toString('latin1').includes(b64), `${f} holds the key (base64)`).toBe(false);
      expect(body.includes(Buffer.from(PROBE_KEY_HEX, 'hex')), `${f} holds the key (bytes)`).toBe(false);
    }
  });

  test('a failed test gets the last decoded lines up to its failure (not the teardown after it) as an attachment', () => {
    type Node = { name: string; attachments?: { name: string; source: string }[]; steps?: Node[] };
    const all = (n: Node): { name: string; source: string }[] => [...(n.attachments ?? []), ...(n.steps ?? []).flatMap(all)];
    const results = filesUnder(allure).filter((f) => f.endsWith('-result.json')).map((f) => JSON.parse(readFileSync(f, 'utf8')) as Node);
    const planted = results.find((r) => r.name.startsWith('planted'))!;
    // allure-playwright files fixture attachments under the teardown steps.
    const tail = all(planted).find((a) => a.name === 'frame-log.last-lines.txt');
    expect(tail, JSON.stringify(all(planted))).toBeTruthy();
    const text = readFileSync(path.join(allure, tail!.source), 'utf8').trimEnd().split('\n');
    expect(text.length).toBeLessThanOrEqual(27);
    // The failure is the last decoded line shown; the restore's teardown traffic after it is only counted.
    const failedAt = text.map((l) => l.startsWith('>>')).lastIndexOf(true);
    expect(text[failedAt]).toMatch(/^>> .*step eccKeyRead failed: .*INVALID_KEY/);
    expect(text.slice(failedAt + 1)).toEqual([expect.stringMatching(/^ +\(\d+ later lines: teardown traffic/)]);
    expect(text.join('\n')).toContain('L3 command PING length=4');
  });

  test('find copies the frame log of a test matching a title regex out of the Allure results under a readable name', async () => {
    const out = tmpDir('find');
    const r = await cli(['find', 'ECC_Key_Store', '--results', allure, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const copied = readdirSync(out);
    expect(copied).toEqual(['a private key stored with ECC_Key_Store is readable back as its public key only.frame-log.jsonl']);
    expect(parseFrameLog(readFileSync(path.join(out, copied[0]), 'utf8')).entries.length).toBeGreaterThan(50);
    const none = await cli(['find', 'no such test', '--results', allure, '--out', out]);
    expect(none.code).toBe(1);
  });
});
