/**
 * A target lost mid-run stops the run: a real tvl-process target (this project's model server
 * with ts-tvl's command line) killed during a test. The test that found it fails with one error
 * naming the target and its last log lines, every later test is skipped with that reason (none
 * connects), and the teardown project fails naming the loss.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT } from '../paths.js';

interface JsonTest {
  status: string;
  results: { status: string; errors: { message?: string }[]; duration: number }[];
  annotations: { type: string; description?: string }[];
}
interface JsonSuite {
  title: string;
  specs: { title: string; tests: (JsonTest & { projectName: string })[] }[];
  suites?: JsonSuite[];
}

function specsOf(suites: JsonSuite[]): { title: string; test: JsonTest & { projectName: string } }[] {
  return suites.flatMap((s) => [...s.specs.flatMap((sp) => sp.tests.map((t) => ({ title: sp.title, test: t }))), ...specsOf(s.suites ?? [])]);
}

test('a tvl-process server killed mid-run: one failure naming the target, the rest skipped at once, teardown names the loss', async () => {
  test.setTimeout(180_000);
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'h3-target-loss-'));
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  const json = path.join(workspace, 'report.json');
  try {
    const env = {
      ...process.env,
      TROPIC_WORKSPACE: workspace,
      TROPIC_TARGET: 'tvl-process',
      TVL_COMMAND: `"${process.execPath}" "${path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'model-server.js')}" tcp`,
      TVL_PORT_BASE: String(port - 1),
      H3_LOSS_JSON: json,
      CI: '',
    };
    const args = [path.join(PROJECT_ROOT, 'node_modules', '@playwright', 'test', 'cli.js'), 'test', '--config', path.join(PROJECT_ROOT, 'harness', 'tests', 'target-loss', 'playwright.config.ts'), '--output', path.join(workspace, 'results')];
    const exit = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: PROJECT_ROOT, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    });
    expect(exit.code, exit.out).not.toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { suites: JsonSuite[] };
    const all = specsOf(report.suites);
    const byTitle = (t: string) => all.find((x) => x.title === t)!.test;

    expect(byTitle('the target answers before the loss').status).toBe('expected');
    const dying = byTitle('the target dies during this test');
    expect(dying.status).toBe('unexpected');
    const lost = dying.results[0].errors.map((e) => e.message ?? '').find((m) => m.includes('TH_TARGET_LOST'));
    expect(lost).toMatch(new RegExp(`target .* @127\\.0\\.0\\.1:${port} .* lost during .*the target dies during this test.*process group \\d+ (is gone|no longer listens on port)`));
    expect(lost).toMatch(/last log lines:\n(?!\(none\))\S/);

    const later = all.filter((x) => x.title.startsWith('a later test'));
    expect(later).toHaveLength(10);
    for (const t of later) {
      expect(t.test.status).toBe('skipped');
      expect(t.test.annotations.find((a) => a.type === 'skip')?.description).toMatch(/^target lost: target .* lost during/);
    }
    const teardown = byTitle('target teardown');
    expect(teardown.status).toBe('unexpected');
    expect(teardown.results[0].errors.map((e) => e.message).join('\n')).toContain('lost during');
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});
