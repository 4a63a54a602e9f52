/**
 * Session keys in frame logs, on request only. A real spec run in a child Playwright opens two
 * secure sessions and sends a few L3 commands, writing the driver's K_CMD/K_RES (from its session
 * object) to a file outside the run's artefacts. Without TROPIC_RECORD_SECRETS no artefact of the
 * run (frame log, decoded text, HTML, Allure results) holds them; with TROPIC_RECORD_SECRETS=1 the
 * log records them per session with the pairing slot, and decode shows L3 command names and result
 * codes of a log whose driver annotations were all stripped (as from a rig or ts-tvl).
 */
import { test, expect } from '@playwright/test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { FrameRecorder, parseFrameLog, serializeFrameLog, type FrameLogAnnotation, type FrameLogEntry, type ParsedFrameLog } from '../framelog/frame-log.js';
import { decodeFrameLog } from '../framelog/decode.js';
import { openReplayTarget } from '../framelog/replay-target.js';
import { OperationRunner } from '../framelog/operations.js';
import { hex } from '../bytes.js';
import { runChild } from './run-child.js';
import { runOnFreshTarget } from '../framelog/reproduce.js';
import { deriveSeeds } from '../framelog/seeds.js';
import { PAIRING_KEY, SAMPLE_OPS, cli, op, tmpDir } from './framelog-helpers.js';

const PROBE = `
import { appendFileSync } from 'node:fs';
import { test, expect } from '../../fixtures/index.js';
import type { TropicSquare } from '../../harness/driver/tropic-square.js';

// The test knows its own keys (the driver's session object); they go to a file outside the run's artefacts.
const keep = (d: TropicSquare) => appendFileSync(process.env.PROBE_KEYS_OUT!, JSON.stringify({
  slot: d.pairingSlot, kCmd: Buffer.from(d.session!.keys.kCmd).toString('hex'), kRes: Buffer.from(d.session!.keys.kRes).toString('hex'),
}) + '\\n');

test('probe: two sessions and a few L3 commands', async ({ session, pairingKey }) => {
  keep(session);
  expect(await session.ping(Uint8Array.of(1, 2, 3, 4))).toEqual(Uint8Array.of(1, 2, 3, 4));
  await expect(session.eccKeyRead(3)).rejects.toMatchObject({ resultName: 'INVALID_KEY' });
  await session.startSecureSession(0, pairingKey);
  keep(session);
  expect((await session.random(8)).length).toBe(8);
});
`;

interface Keys {
  slot: number;
  kCmd: string;
  kRes: string;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Every way a key could sit in a file: hex (either case), base64, raw bytes. */
function holdsKey(body: Buffer, keyHex: string): string | undefined {
  const raw = Buffer.from(keyHex, 'hex');
  const text = body.toString('latin1');
  if (text.toLowerCase().includes(keyHex)) return 'hex';
  if (text.includes(raw.toString('base64')) || text.includes(raw.toString('base64url'))) return 'base64';
  if (body.includes(raw)) return 'raw bytes';
  return undefined;
}

/** Only what a log from a rig or ts-tvl would have besides the wire and the keys: no driver annotations or steps. */
function stripped(log: ParsedFrameLog): { entries: FrameLogEntry[]; annotations: FrameLogAnnotation[] } {
  return { entries: log.entries.map(({ step: _step, ...e }) => e), annotations: log.annotations.filter((a) => a.kind === 'session-keys') };
}

interface Run {
  code: number | null;
  out: string;
  keys: Keys[];
  outDir: string;
  allure: string;
  log: string;
}

test.describe.serial('session keys in a spec run', () => {
  let dir = '';
  const runs: Record<'off' | 'on', Run> = {} as Record<'off' | 'on', Run>;

  test.beforeAll(async () => {
    test.setTimeout(300_000);
    mkdirSync(path.join(PACKAGE_ROOT, 'reports'), { recursive: true });
    dir = mkdtempSync(path.join(PACKAGE_ROOT, 'reports', '.tmp-h9-secrets-'));
    writeFileSync(path.join(dir, 'probe.spec.ts'), PROBE);
    for (const mode of ['off', 'on'] as const) {
      const allure = path.join(dir, `allure-${mode}`);
      const outDir = path.join(dir, `test-results-${mode}`);
      const keysFile = path.join(dir, `keys-${mode}.jsonl`);
      const config = path.join(dir, `pw-${mode}.config.ts`);
      writeFileSync(config, `import { defineConfig } from '@playwright/test';
export default defineConfig({ testDir: '.', testMatch: /probe\\.spec\\.ts$/, reporter: [['line'], ['allure-playwright', { resultsDir: ${JSON.stringify(allure)} }]] });
`);
      const r = await runChild('npx', ['playwright', 'test', '-c', config, '--output', outDir], {
        // 'off' with the default views (a passing test gets only its raw log), 'on' with every view.
        ...process.env, TROPIC_TARGET: 'embedded', CI: '', PROBE_KEYS_OUT: keysFile, TROPIC_RECORD_SECRETS: mode === 'on' ? '1' : '', TROPIC_FRAMELOG_VIEWS: mode === 'on' ? 'always' : '',
      });
      const keys = existsSync(keysFile) ? readFileSync(keysFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Keys) : [];
      runs[mode] = { ...r, keys, outDir, allure, log: filesUnder(outDir).find((f) => f.endsWith('frame-log.jsonl')) ?? '' };
    }
  });

  test.afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('without TROPIC_RECORD_SECRETS no session key is in any artefact (frame log, decoded text, HTML, Allure results)', () => {
    const r = runs.off;
    expect(r.code, r.out).toBe(0);
    expect(r.keys).toHaveLength(2);
    for (const k of r.keys) expect(k.kCmd).toMatch(/^[0-9a-f]{64}$/);
    // The log exists and holds the encrypted traffic of both sessions, so the search below means something.
    const log = parseFrameLog(readFileSync(r.log, 'utf8'), { file: r.log });
    expect(log.meta).toMatchObject({ secrets: false });
    expect(log.annotations.filter((a) => a.kind === 'l3-command').map((a) => (a as { command: string }).command)).toEqual(expect.arrayContaining(['PING', 'ECC_KEY_READ', 'RANDOM_VALUE_GET']));
    expect(log.annotations.filter((a) => a.kind === 'session-keys' || a.kind === 'secret')).toEqual([]);
    const files = [...filesUnder(r.outDir), ...filesUnder(r.allure)];
    expect(files.some((f) => f.endsWith('frame-log.jsonl'))).toBe(true);
    // By default a passing test gets no decoded views (TROPIC_FRAMELOG_VIEWS=failed); the 'on' run has them.
    for (const name of ['frame-log.decoded.txt', 'frame-log.html']) expect(files.some((f) => f.endsWith(name)), name).toBe(false);
    for (const name of ['frame-log.decoded.txt', 'frame-log.html']) expect(filesUnder(runs.on.outDir).some((f) => f.endsWith(name)), name).toBe(true);
    expect(filesUnder(r.allure).length).toBeGreaterThan(2);
    for (const f of files) {
      const body = readFileSync(f);
      for (const k of r.keys) for (const key of [k.kCmd, k.kRes]) expect(holdsKey(body, key), `${f} holds a session key`).toBeUndefined();
    }
  });

  test('with TROPIC_RECORD_SECRETS=1 the log records each session\'s K_CMD and K_RES with its pairing slot; decoded text and HTML do not show them', () => {
    const r = runs.on;
    expect(r.code, r.out).toBe(0);
    expect(r.keys).toHaveLength(2);
    expect(r.keys[0].kCmd).not.toBe(r.keys[1].kCmd);
    const log = parseFrameLog(readFileSync(r.log, 'utf8'), { file: r.log });
    expect(log.meta).toMatchObject({ secrets: true });
    const recorded = log.annotations.filter((a) => a.kind === 'session-keys').map((a) => ({ slot: (a as Keys).slot, kCmd: (a as Keys).kCmd, kRes: (a as Keys).kRes }));
    expect(recorded).toEqual(r.keys);
    for (const f of filesUnder(r.outDir).filter((x) => /frame-log\.(decoded\.txt|html|last-lines\.txt)$/.test(x))) {
      const body = readFileSync(f);
      for (const k of r.keys) for (const key of [k.kCmd, k.kRes]) expect(holdsKey(body, key), `${f} shows a session key`).toBeUndefined();
    }
    // Annotated commands are not shown twice: the decrypted line stands in only where no annotation does.
    const decoded = readFileSync(filesUnder(r.outDir).find((f) => f.endsWith('frame-log.decoded.txt'))!, 'utf8');
    expect(decoded.match(/L3 command PING/g)).toHaveLength(1);
    expect(decoded).not.toContain('(decrypted');
  });

  test('decode of that log with every driver annotation stripped still shows the L3 command names and result codes (library and CLI)', async () => {
    const r = runs.on;
    const log = parseFrameLog(readFileSync(r.log, 'utf8'), { file: r.log });
    const bare = stripped(log);
    const text = decodeFrameLog(bare.entries, { annotations: bare.annotations });
    expect(text).toMatch(/L3 session keys recorded \(pairing slot 0\)/);
    expect(text).toMatch(/L3 command PING \(decrypted, nonce 0\)/);
    expect(text).toMatch(/L3 result OK \(0xc3\) of PING, 4 data bytes \(decrypted/);
    expect(text).toMatch(/L3 command ECC_KEY_READ slot 3 \(decrypted, nonce 1\)/);
    expect(text).toMatch(/L3 result INVALID_KEY \(0x12\) of ECC_KEY_READ, 0 data bytes \(decrypted/);
    // The second session starts its nonces at 0 again, with its own keys.
    expect(text).toMatch(/L3 command RANDOM_VALUE_GET count 8 \(decrypted, nonce 0\)/);
    expect(text).toMatch(/L3 result OK \(0xc3\) of RANDOM_VALUE_GET, \d+ data bytes/);
    expect(text).not.toContain('does not authenticate');
    for (const k of r.keys) for (const key of [k.kCmd, k.kRes]) expect(text.toLowerCase()).not.toContain(key);
    // Without the keys the same stripped log shows no L3 at all: the names come from decryption.
    expect(decodeFrameLog(bare.entries, { annotations: [] })).not.toMatch(/L3 (command|result)/);

    const file = path.join(tmpDir('secrets-stripped'), 'stripped.frame-log.jsonl');
    writeFileSync(file, serializeFrameLog(log.meta, bare.entries, bare.annotations));
    const c = await cli(['decode', file]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/L3 result INVALID_KEY \(0x12\) of ECC_KEY_READ/);
    expect(c.stdout).toMatch(/L3 command PING/);
  });
});

test('decode decrypts a command chunked over several Encrypted_Cmd frames and a raw L3 command; wrong keys are reported, not guessed', async () => {
  const t = await openReplayTarget('embedded');
  const file = path.join(tmpDir('secrets-inproc'), 'x.frame-log.jsonl');
  const rec = new FrameRecorder(t.transport, { file, header: { secrets: true } });
  let keys: { kCmd: Uint8Array; kRes: Uint8Array } | undefined;
  try {
    const runner = new OperationRunner(t.transport, { pairingKey: PAIRING_KEY }, { sessionKeys: rec.sessionKeysListener });
    expect(await runner.run(op('l3', 'ping', { length: 600 }))).toMatchObject({ result: 'OK' });
    keys = runner.driver.session!.keys;
    // Raw L3 (as edge-case specs send it): no annotation says what it is.
    expect((await runner.driver.l3Raw(Uint8Array.of(0x50, 0x08))).result).toBe(0xc3); // RANDOM_VALUE_GET, 8 bytes
  } finally {
    rec.detach();
    await t.close();
  }
  const log = parseFrameLog(readFileSync(file, 'utf8'), { file });
  expect(log.annotations.filter((a) => a.kind === 'l3-command')).toEqual([]); // no annotate hook was given
  expect(log.annotations).toContainEqual(expect.objectContaining({ kind: 'session-keys', slot: 0, kCmd: hex(keys!.kCmd), kRes: hex(keys!.kRes) }));
  const text = decodeFrameLog(log.entries, { annotations: log.annotations });
  expect(text).toMatch(/L3 command PING \(decrypted, nonce 0\)/);
  expect(text).toMatch(/L3 result OK \(0xc3\) of PING, 600 data bytes/);
  expect(text).toMatch(/L3 command RANDOM_VALUE_GET count 8 \(decrypted, nonce 1\)/);
  const wrong = log.annotations.map((a) => (a.kind === 'session-keys' ? { ...a, kRes: a.kCmd } : a));
  const bad = decodeFrameLog(log.entries, { annotations: wrong });
  expect(bad).toMatch(/L3 command PING \(decrypted/);
  expect(bad).toMatch(/>> .*L3 result does not authenticate with the recorded keys of pairing slot 0/);
});

test('a recorder without secrets ignores session keys handed to it and gives the driver no listener', () => {
  const file = path.join(tmpDir('secrets-off'), 'x.jsonl');
  const rec = new FrameRecorder(undefined, { file, header: { secrets: false } });
  expect(rec.sessionKeysListener).toBeUndefined();
  rec.recordSessionKeys({ slot: 0, kCmd: new Uint8Array(32).fill(0xab), kRes: new Uint8Array(32).fill(0xcd) });
  rec.detach();
  expect(readFileSync(file, 'utf8')).not.toMatch(/abab|cdcd|session-keys/);
});

test('a secrets log cut by a crash inside its session-keys line: decode and replay report the cut line and use the rest; a corrupt line needs --lenient', async () => {
  const dir = tmpDir('secrets-cut');
  const file = path.join(dir, 'full.frame-log.jsonl');
  await runOnFreshTarget(SAMPLE_OPS, 'embedded', { pairingKey: PAIRING_KEY, seeds: deriveSeeds('secrets-cut'), recordTo: file, header: { secrets: true, test: 'cut' } });
  const text = readFileSync(file, 'utf8');
  const keysAt = text.indexOf('{"ann":"session-keys"');
  expect(keysAt).toBeGreaterThan(0);
  const keyLine = JSON.parse(text.slice(keysAt, text.indexOf('\n', keysAt))) as Keys;
  // The worker died while writing the keys: half the line is on disk, no newline.
  const cut = path.join(dir, 'cut.frame-log.jsonl');
  writeFileSync(cut, text.slice(0, keysAt + 60));
  const cutLine = text.slice(0, keysAt).split('\n').length;
  const decoded = await cli(['decode', cut]);
  expect(decoded.code, decoded.stderr).toBe(0);
  expect(decoded.stderr).toContain(`line ${cutLine} is cut short`);
  expect(decoded.stdout).toMatch(/L2 response .*\[startSecureSession\]/);
  expect(decoded.stdout).not.toContain('session keys recorded');
  expect(decoded.stdout).not.toContain(keyLine.kCmd.slice(0, 16));
  const replayed = await cli(['replay', cut, '--target', 'embedded']);
  expect(replayed.code, replayed.stdout + replayed.stderr).toBe(0);
  expect(replayed.stdout).toMatch(/matched (\d+) \(100\.0%\), diverged 0/);
  expect(replayed.stdout).toContain(`note: the log's last line (${cutLine}) was cut short and not replayed`);

  // A corrupt line in the middle (not the last): an input error naming it; --lenient skips and counts it.
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('{"ann":"step-start"') && l.includes('"ping"'));
  const corrupt = path.join(dir, 'corrupt.frame-log.jsonl');
  writeFileSync(corrupt, [...lines.slice(0, at), lines[at].slice(0, 20), ...lines.slice(at + 1)].join('\n'));
  const strict = await cli(['replay', corrupt, '--target', 'embedded']);
  expect(strict.code).toBe(2);
  expect(strict.stderr).toContain(`${corrupt} line ${at + 1}: not JSON`);
  const lenient = await cli(['replay', corrupt, '--target', 'embedded', '--lenient']);
  expect(lenient.code, lenient.stdout + lenient.stderr).toBe(0);
  expect(lenient.stderr).toContain('1 corrupt line(s) skipped (--lenient)');
  expect(lenient.stdout).toMatch(/matched \d+ \(100\.0%\), diverged 0/);
  // The keys line survived in this one: the decoded log still decrypts.
  const lenientDecode = await cli(['decode', corrupt, '--lenient']);
  expect(lenientDecode.stdout).toContain('L3 session keys recorded (pairing slot 0)');
});
