/**
 * Irreversible specs on a rig: refused unless TROPIC_ALLOW_IRREVERSIBLE=1. A real chip cannot exist
 * here, so the embedded model's TCP server stands in for the rig's endpoint; the refusal logic under
 * test (fixtures + driver guard) only looks at the target kind.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { ModelServer } from '../model/server.js';
import { PROJECT_ROOT } from '../paths.js';

const SPEC_TITLE = 'invalidating an empty slot answers FAIL';

// The server runs in this process, so the nested run must not block the event loop (spawn, not spawnSync).
async function runSpec(port: number, allow: boolean): Promise<{ status: string; annotations: { type: string }[] }> {
  const child = spawn('npx', ['playwright', 'test', '--project=specs', '--grep', SPEC_TITLE, '--reporter=json'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TROPIC_ALLURE_RESULTS: path.join(os.tmpdir(), `tropic-rig-refusal-${process.pid}`), TROPIC_TARGET: 'rig', TROPIC_RIG: `tcp://127.0.0.1:${port}`, TROPIC_ALLOW_IRREVERSIBLE: allow ? '1' : '0', CI: '' },
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  type Result = { status: string; annotations: { type: string }[] };
  type Suite = { suites?: Suite[]; specs?: { title: string; tests: { results: Result[] }[] }[] };
  const report = JSON.parse(stdout) as Suite;
  // The run also holds the target's setup and teardown tests: find the spec by its title.
  const find = (s: Suite): Result | undefined =>
    s.specs?.find((x) => x.title === SPEC_TITLE)?.tests[0]?.results[0] ?? (s.suites ?? []).map(find).find(Boolean);
  const res = find(report);
  if (!res) throw new Error(`the nested run has no result for "${SPEC_TITLE}":\n${stdout.slice(0, 2000)}`);
  return res;
}

test('an @irreversible spec is refused on a rig, and runs when explicitly allowed', async () => {
  test.setTimeout(240_000);
  const server = await new ModelServer({ port: 0 }).start();
  try {
    const refused = await runSpec(server.port, false);
    expect(refused.status).toBe('skipped');
    expect(refused.annotations.map((a) => a.type)).toContain('refused');
    const allowed = await runSpec(server.port, true);
    expect(allowed.status).toBe('passed');
  } finally {
    await server.close();
  }
});
