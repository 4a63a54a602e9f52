/**
 * Support for the harness tests that run the spec suite (or a planted spec) in a nested Playwright
 * run and read its JSON report: each test's title, tags, status, first error and annotations.
 * The nested run writes its reports and results under a private temporary directory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { readChipState, type ChipStateSnapshot } from '../driver/chip-state.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { TargetError } from '../errors.js';

export interface NestedResult {
  title: string;
  file: string;
  tags: string[];
  status: string;
  error?: string;
  /** Where Playwright places the first error (the code frame it shows). */
  errorLocation?: { file: string; line: number; column: number };
  annotations: { type: string; description?: string }[];
  /** The Playwright worker that ran the test's last attempt. */
  workerIndex?: number;
  /** Allure labels the test set at run time (e.g. `rig`, `chip_serial`), from its Allure metadata attachments. */
  labels: { name: string; value: string }[];
}

export interface NestedRun {
  results: NestedResult[];
  exitCode: number | null;
  stderr: string;
}

type JsonAttachment = { name: string; contentType: string; body?: string };
type JsonResult = { status: string; workerIndex?: number; errors?: { message?: string; location?: { file: string; line: number; column: number } }[]; error?: { message?: string }; annotations?: { type: string; description?: string }[]; attachments?: JsonAttachment[] };

/** allure-playwright's run-time messages travel as test attachments; the labels are in their `metadata`. */
function allureLabels(attachments: JsonAttachment[] = []): { name: string; value: string }[] {
  const labels: { name: string; value: string }[] = [];
  for (const a of attachments) {
    if (a.contentType !== 'application/vnd.allure.message+json' || !a.body) continue;
    const m = JSON.parse(Buffer.from(a.body, 'base64').toString('utf8')) as { type?: string; data?: { labels?: { name: string; value: string }[] } };
    if (m.type === 'metadata') labels.push(...(m.data?.labels ?? []));
  }
  return labels;
}
type JsonSpec = { title: string; file: string; tags?: string[]; tests: { projectName?: string; annotations?: { type: string; description?: string }[]; results: JsonResult[] }[] };
type JsonSuite = { title?: string; suites?: JsonSuite[]; specs?: JsonSpec[] };

function flatten(suite: JsonSuite, out: NestedResult[], parents: string[]): void {
  const here = suite.title && !suite.title.endsWith('.ts') ? [...parents, suite.title] : parents;
  for (const s of suite.specs ?? []) {
    for (const t of s.tests) {
      const r = t.results[t.results.length - 1];
      if (!r) continue;
      out.push({
        title: [...here, s.title].join(' > '),
        file: s.file,
        tags: s.tags?.map((x) => (x.startsWith('@') ? x : `@${x}`)) ?? [],
        status: r.status,
        error: r.errors?.map((e) => e.message ?? '').join('\n') || r.error?.message,
        errorLocation: r.errors?.[0]?.location,
        annotations: [...(t.annotations ?? []), ...(r.annotations ?? [])],
        workerIndex: r.workerIndex,
        labels: allureLabels(r.attachments),
      });
    }
  }
  for (const child of suite.suites ?? []) flatten(child, out, here);
}

/** Run `npx playwright test …args` in the project with `env` added; the server under test may live in this process, so the child is awaited asynchronously. */
export async function runPlaywright(args: string[], env: Record<string, string>): Promise<NestedRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-nested-'));
  const jsonFile = path.join(dir, 'report.json');
  try {
    const child = spawn('npx', ['playwright', 'test', ...args, '--reporter=json', `--output=${path.join(dir, 'results')}`], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        CI: '',
        TROPIC_QUIET_PROJECTS: '1',
        TROPIC_ALLURE_RESULTS: path.join(dir, 'allure-results'),
        PLAYWRIGHT_JSON_OUTPUT_NAME: jsonFile,
        ...env,
      },
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    let report: JsonSuite & { suites: JsonSuite[] };
    try {
      report = JSON.parse(readFileSync(jsonFile, 'utf8')) as JsonSuite & { suites: JsonSuite[] };
    } catch (e) {
      throw new TargetError(`the nested run (exit ${exitCode}) wrote no readable JSON report: ${(e as Error).message}\n${stderr.slice(-3000)}`);
    }
    const results: NestedResult[] = [];
    for (const s of report.suites) flatten(s, results, []);
    return { results, exitCode, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The chip state of a model server, read through the driver on the configured pairing slot. */
export async function snapshotChip(port: number): Promise<ChipStateSnapshot> {
  const cfg = resolveConfig({ ...process.env, TROPIC_TARGET: 'embedded' });
  const t = await TcpTransport.connect({ host: '127.0.0.1', port, connectTimeoutMs: 5000, ioTimeoutMs: 5000 });
  try {
    const ts = new TropicSquare(t);
    await ts.startSecureSession(cfg.TROPIC_PAIRING_SLOT, loadPairingKey(cfg));
    return await readChipState(ts);
  } finally {
    await t.close();
  }
}

export const spec = (results: NestedResult[], title: string): NestedResult | undefined => results.find((r) => r.title.endsWith(title));

/**
 * Spec files planted in a temporary directory with a Playwright configuration of their own (one
 * project, `planted`), importing the project's fixtures by absolute path. `remove()` deletes them.
 */
export function plantSpecs(files: Record<string, string>): { config: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-planted-'));
  // ES modules, as in the project: without this the planted spec is compiled as CommonJS.
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  const config = path.join(dir, 'playwright.config.mjs');
  writeFileSync(config, `export default { testDir: ${JSON.stringify(dir)}, testMatch: /.*\\.spec\\.ts$/, timeout: 60000, projects: [{ name: 'planted' }] };\n`);
  for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), body.replaceAll('@fixtures', path.join(PROJECT_ROOT, 'fixtures', 'index.js')));
  return { config, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
