/**
 * harness/report/allure-reporter.ts: allure-playwright with a results writer that renames a
 * temporary file into place but does not fsync. The files must be the ones allure-js-commons' own
 * FileSystemWriter writes, no temporary file may stay, a real Playwright run must produce its
 * results, and that run must really use the replacement writer (counted fsync calls: none with
 * ours, some with the stock reporter).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { Stage, Status } from 'allure-js-commons';
import type { Category } from 'allure-js-commons/sdk';
import { FileSystemWriter, type Writer } from 'allure-js-commons/sdk/reporter';
import { AtomicFileWriter } from '../report/allure-reporter.js';
import { PACKAGE_ROOT } from '../paths.js';

const REPORTER = path.join(PACKAGE_ROOT, 'harness', 'report', 'allure-reporter.ts');
const PLAYWRIGHT_CLI = path.join(PACKAGE_ROOT, 'node_modules', '@playwright', 'test', 'cli.js');
const TEMP_FILE = /^\.allure-write-|\.tmp$/;

const tmpDirs: string[] = [];
function tmpDir(parent: string, prefix: string): string {
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(path.join(parent, prefix));
  tmpDirs.push(dir);
  return dir;
}
test.afterAll(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

const CATEGORIES: Category[] = [{ name: 'Transport errors', messageRegex: '.*TH_TCP_.*', matchedStatuses: [Status.BROKEN, Status.FAILED] }];

/** The same calls, in the same order, on any Writer: every kind of file an Allure run writes. */
function writeEverything(writer: Writer, attachmentSource: string, attachmentBody: Buffer): void {
  writer.writeResult({
    uuid: 'b1f3c3e0-0000-4000-8000-000000000001',
    name: 'Ping echoes its data — «unicode» ✓',
    historyId: 'h1',
    status: Status.PASSED,
    statusDetails: { message: 'line 1\nline "2"\ttab' },
    stage: Stage.FINISHED,
    steps: [{ name: 'step', status: Status.PASSED, statusDetails: {}, stage: Stage.FINISHED, steps: [], attachments: [{ name: 'frame log', source: 'a1-attachment.bin', type: 'application/octet-stream' }], parameters: [] }],
    attachments: [],
    parameters: [{ name: 'slot', value: '0' }],
    labels: [{ name: 'suite', value: 'specs' }],
    links: [],
    start: 1_700_000_000_000,
    stop: 1_700_000_000_123,
  });
  writer.writeGroup({ uuid: 'c0ffee00-0000-4000-8000-000000000002', children: ['b1f3c3e0-0000-4000-8000-000000000001'], befores: [], afters: [] });
  writer.writeAttachment('a1-attachment.bin', attachmentBody);
  writer.writeAttachmentFromPath('a2-attachment.txt', attachmentSource);
  writer.writeEnvironmentInfo({ node: process.version, 'key with = and :': 'value with\nnewline and ünïcödé', empty: '', missing: undefined });
  writer.writeCategoriesDefinitions(CATEGORIES);
  writer.writeGlobals('d00d0000-0000-4000-8000-000000000003-globals.json', { attachments: [], errors: [{ message: 'global ✗', timestamp: 1_700_000_000_456 }] });
}

function filesOf(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(path.join(dir, name))]));
}

test('the writer writes byte for byte what allure-js-commons FileSystemWriter writes: result, container, attachments from a buffer and a path, environment, categories, globals', () => {
  const dir = tmpDir(os.tmpdir(), 'allure-writer-');
  const source = path.join(dir, 'source.txt');
  writeFileSync(source, `attached from a file ✓\n${'x'.repeat(200_000)}\n`); // more than FileSystemWriter's 64 KiB copy buffer
  const body = randomBytes(70_000); // not valid UTF-8: must be written as bytes
  const stockDir = path.join(dir, 'stock');
  const oursDir = path.join(dir, 'ours');
  writeEverything(new FileSystemWriter({ resultsDir: stockDir }), source, body);
  writeEverything(new AtomicFileWriter(oursDir), source, body);
  const stock = filesOf(stockDir);
  const ours = filesOf(oursDir);
  expect([...ours.keys()]).toEqual([...stock.keys()]);
  expect(stock.size).toBe(7);
  for (const [name, bytes] of stock) expect(ours.get(name)!.equals(bytes), `${name} differs`).toBe(true);
  expect(ours.get('a1-attachment.bin')!.equals(body)).toBe(true);
  expect(ours.get('a2-attachment.txt')!.equals(readFileSync(source))).toBe(true);
});

test('no temporary file is left behind, and a failed write (missing attachment source) throws TH_REPORT naming the file and keeps the previous file whole', () => {
  const dir = tmpDir(os.tmpdir(), 'allure-writer-');
  const resultsDir = path.join(dir, 'results');
  const source = path.join(dir, 'source.txt');
  writeFileSync(source, 'first version');
  const writer = new AtomicFileWriter(resultsDir);
  writeEverything(writer, source, Buffer.from('body'));
  expect(readdirSync(resultsDir).filter((f) => TEMP_FILE.test(f))).toEqual([]);
  const missing = path.join(dir, 'gone.txt');
  expect(() => writer.writeAttachmentFromPath('a2-attachment.txt', missing)).toThrow(/TH_REPORT \[report\] Allure results: cannot write .*a2-attachment\.txt.*ENOENT/);
  expect(readFileSync(path.join(resultsDir, 'a2-attachment.txt'), 'utf8')).toBe('first version');
  expect(readdirSync(resultsDir).filter((f) => TEMP_FILE.test(f))).toEqual([]);
});

test('an attachment from a path is a hard link on the same file system (no copy), and the results folder removed during a run is made again', () => {
  const dir = tmpDir(os.tmpdir(), 'allure-writer-');
  const resultsDir = path.join(dir, 'results');
  const source = path.join(dir, 'frame-log.jsonl');
  writeFileSync(source, '{"seq":0}\n');
  const writer = new AtomicFileWriter(resultsDir);
  writer.writeAttachmentFromPath('a-attachment.jsonl', source);
  const linked = statSync(path.join(resultsDir, 'a-attachment.jsonl'));
  expect(linked.ino).toBe(statSync(source).ino);
  expect(linked.nlink).toBe(2);
  // the same name again (never done by Allure, whose names are fresh UUIDs): replaced whole
  const second = path.join(dir, 'second.jsonl');
  writeFileSync(second, '{"seq":1}\n');
  writer.writeAttachmentFromPath('a-attachment.jsonl', second);
  expect(statSync(path.join(resultsDir, 'a-attachment.jsonl')).ino).toBe(statSync(second).ino);
  writer.writeAttachmentFromPath('a-attachment.jsonl', source);
  expect(readdirSync(resultsDir).filter((f) => TEMP_FILE.test(f))).toEqual([]);
  // a later run removes its output folder: the attachment keeps its bytes
  rmSync(source);
  expect(readFileSync(path.join(resultsDir, 'a-attachment.jsonl'), 'utf8')).toBe('{"seq":0}\n');
  rmSync(resultsDir, { recursive: true });
  writer.writeResult({ uuid: 'r1', name: 'n', status: Status.PASSED, statusDetails: {}, stage: Stage.FINISHED, steps: [], attachments: [], parameters: [], labels: [], links: [] } as never);
  expect(readdirSync(resultsDir)).toEqual(['r1-result.json']);
});

test('where a hard link cannot be made (another file system), attachments are copied', () => {
  const dir = tmpDir(os.tmpdir(), 'allure-writer-');
  const source = path.join('/dev/shm', `allure-writer-${process.pid}.txt`); // tmpfs: not the results' file system
  test.skip(!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(dir).dev, '/dev/shm is not a separate file system here');
  writeFileSync(source, 'copied');
  try {
    const writer = new AtomicFileWriter(path.join(dir, 'results'));
    writer.writeAttachmentFromPath('b-attachment.txt', source);
    const out = statSync(path.join(dir, 'results', 'b-attachment.txt'));
    expect(out.ino).not.toBe(statSync(source).ino);
    expect(readFileSync(path.join(dir, 'results', 'b-attachment.txt'), 'utf8')).toBe('copied');
  } finally {
    rmSync(source, { force: true });
  }
});

// A tiny suite for a child Playwright: one passing test with an attachment from a buffer and one
// from a file, one failing, one skipped.
const TINY_SPEC = `
import { writeFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
test('passes with two attachments', async ({}, testInfo) => {
  await testInfo.attach('from-body', { body: 'body attachment ✓', contentType: 'text/plain' });
  const file = testInfo.outputPath('from-path.bin');
  writeFileSync(file, Buffer.from([0, 1, 2, 255, 254]));
  await testInfo.attach('from-path', { path: file, contentType: 'application/octet-stream' });
});
test('fails on purpose', () => {
  expect(1).toBe(2);
});
test('is skipped', () => {
  test.skip(true, 'on purpose');
});
`;

/** Counts the fsync family in each process of the run (CommonJS callers and, synced, ESM ones). */
const FSYNC_COUNTER = `
const fs = require('node:fs');
const path = require('node:path');
let calls = 0;
for (const name of ['fsyncSync', 'fdatasyncSync', 'fsync', 'fdatasync']) {
  const original = fs[name];
  fs[name] = function (...args) { calls++; return original.apply(this, args); };
}
require('node:module').syncBuiltinESMExports();
process.on('exit', () => fs.writeFileSync(path.join(__dirname, 'fsync-' + process.pid + '.count'), String(calls)));
`;

interface TinyRun {
  code: number | null;
  out: string;
  resultsDir: string;
  /** fsync calls in the runner's main process (where reporters run). */
  mainFsyncs: number;
}

/** Runs TINY_SPEC in a child Playwright with `reporter` (a module path or package name) writing Allure results. */
function runTinySuite(reporter: string): Promise<TinyRun> {
  // Under the project so that the spec and config resolve @playwright/test.
  const dir = tmpDir(path.join(PACKAGE_ROOT, 'reports', '.tmp'), 'allure-writer-');
  const resultsDir = path.join(dir, 'allure-results');
  writeFileSync(path.join(dir, 'tiny.spec.ts'), TINY_SPEC);
  writeFileSync(path.join(dir, 'fsync-counter.cjs'), FSYNC_COUNTER);
  writeFileSync(
    path.join(dir, 'pw.config.ts'),
    `import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: '.',
  testMatch: /tiny\\.spec\\.ts$/,
  workers: 1,
  reporter: [['line'], [${JSON.stringify(reporter)}, { resultsDir: ${JSON.stringify(resultsDir)} }]],
});
`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(dir, 'fsync-counter.cjs')}`.trim() };
  delete env.ALLURE_TEST_MODE;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PLAYWRIGHT_CLI, 'test', '-c', path.join(dir, 'pw.config.ts'), '--output', path.join(dir, 'test-results')], { cwd: dir, env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      const countFile = path.join(dir, `fsync-${child.pid}.count`);
      const mainFsyncs = existsSync(countFile) ? Number(readFileSync(countFile, 'utf8')) : NaN;
      resolve({ code, out, resultsDir, mainFsyncs });
    });
  });
}

interface AllureAttachment {
  name: string;
  source: string;
}
interface AllureNode {
  attachments?: AllureAttachment[];
  steps?: AllureNode[];
}
interface AllureResult extends AllureNode {
  name: string;
  status: string;
}
const attachmentsOf = (node: AllureNode): AllureAttachment[] => [...(node.attachments ?? []), ...(node.steps ?? []).flatMap(attachmentsOf)];

function resultsOf(resultsDir: string): AllureResult[] {
  return readdirSync(resultsDir)
    .filter((f) => f.endsWith('-result.json'))
    .map((f) => JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as AllureResult);
}

test('a child Playwright run with this reporter writes one result per test with its status, and the attachment files it names', async () => {
  test.setTimeout(120_000);
  const run = await runTinySuite(REPORTER);
  expect(run.code, run.out).toBe(1); // the failing test
  const results = resultsOf(run.resultsDir);
  expect(results.map((r) => [r.name, r.status]).sort()).toEqual([
    ['fails on purpose', 'failed'],
    ['is skipped', 'skipped'],
    ['passes with two attachments', 'passed'],
  ]);
  const passed = results.find((r) => r.name === 'passes with two attachments')!;
  const attachments = new Map(attachmentsOf(passed).map((a) => [a.name, a.source]));
  expect([...attachments.keys()].sort()).toEqual(['from-body', 'from-path']);
  expect(readFileSync(path.join(run.resultsDir, attachments.get('from-body')!), 'utf8')).toBe('body attachment ✓');
  expect(readFileSync(path.join(run.resultsDir, attachments.get('from-path')!)).equals(Buffer.from([0, 1, 2, 255, 254]))).toBe(true);
  expect(readdirSync(run.resultsDir).filter((f) => TEMP_FILE.test(f))).toEqual([]);
});

test('the reporter really replaces the writer: the runner process fsyncs nothing with it, and does fsync with the stock allure-playwright reporter', async () => {
  test.setTimeout(180_000);
  const ours = await runTinySuite(REPORTER);
  const stock = await runTinySuite('allure-playwright');
  expect(ours.code, ours.out).toBe(1);
  expect(stock.code, stock.out).toBe(1);
  // Both wrote the same results: the difference is only how.
  expect(resultsOf(ours.resultsDir).map((r) => r.status).sort()).toEqual(resultsOf(stock.resultsDir).map((r) => r.status).sort());
  expect(stock.mainFsyncs, 'fsync calls in the runner process with stock allure-playwright').toBeGreaterThan(0);
  expect(ours.mainFsyncs, 'fsync calls in the runner process with harness/report/allure-reporter').toBe(0);
});
