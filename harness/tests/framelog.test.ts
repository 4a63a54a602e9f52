/**
 * Frame logs v2: recording (header, annotations, line-by-line file that survives SIGKILL), decode,
 * exact and semantic replay against the embedded model, the CLI's error handling and exit codes,
 * serve, and the parser's typed errors on random input (fast-check).
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { FrameLogError } from '../errors.js';
import { FrameRecorder, parseFrameLog, serializeFrameLog, type FrameLogEntry } from '../framelog/frame-log.js';
import { decodeFrameLog, decodeLines } from '../framelog/decode.js';
import { renderHtml } from '../framelog/html.js';
import { replayFrameLog, semanticReplay } from '../framelog/replay.js';
import { openReplayTarget } from '../framelog/replay-target.js';
import { FrameLogServer } from '../framelog/serve.js';
import { OperationRunner, operationsFromAnnotations } from '../framelog/operations.js';
import { deriveSeeds, seededRandom } from '../framelog/seeds.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { ModelServer } from '../model/server.js';
import { TAG } from '../protocol/tagged-frame.js';
import { PAIRING_KEY, SAMPLE_OPS, cli, op, record, tmpDir } from './framelog-helpers.js';
import { generateSpec } from '../framelog/codegen.js';

test('a recorded log has a v2 header with seeds, per-exchange records naming their driver step, and L3 annotations with public arguments', async () => {
  const { log, outcomes } = await record('header');
  expect(log.version).toBe(2);
  const meta = log.meta as { seeds?: { host?: string; model?: string }; secrets?: boolean; start?: string };
  expect(meta.seeds?.host).toMatch(/^[0-9a-f]{64}$/);
  expect(meta.seeds?.model).toMatch(/^[0-9a-f]{64}$/);
  expect(meta.secrets).toBe(false);
  expect(Number.isNaN(Date.parse(meta.start ?? ''))).toBe(false);
  expect(log.entries.map((e) => e.seq)).toEqual(log.entries.map((_, i) => i));
  expect(log.entries.find((e) => e.l2?.kind === 'request' && e.l2.name === 'HANDSHAKE')?.step).toBe('startSecureSession');
  const cmd = log.annotations.find((a) => a.kind === 'l3-command' && a.command === 'ECC_KEY_GENERATE');
  expect(cmd).toMatchObject({ args: { slot: 1, curve: 'P256' } });
  const res = log.annotations.find((a) => a.kind === 'l3-result' && a.command === 'ECC_KEY_READ');
  expect(res).toMatchObject({ resultName: 'INVALID_KEY' });
  expect(outcomes[4].result).toBe('INVALID_KEY');
});

test('the same seeds give a byte-identical exchange sequence; different seeds do not', async () => {
  const strip = (e: FrameLogEntry[]) => e.map((x) => `${x.tag}:${x.tx}:${x.rx ?? ''}`);
  const a = await record('repeat');
  const b = await record('repeat');
  const c = await record('other-seed');
  expect(strip(b.log.entries)).toEqual(strip(a.log.entries));
  expect(strip(c.log.entries)).not.toEqual(strip(a.log.entries));
});

test('a worker killed with SIGKILL leaves every exchange up to the kill on disk, readable', async () => {
  const dir = tmpDir('sigkill');
  const file = path.join(dir, 'killed.jsonl');
  const dist = path.resolve('dist/harness');
  // The child records a session and kills itself (SIGKILL: no exit handlers) after 120 exchanges (past the handshake, into the Pings).
  const script = `
    import { ModelServer } from ${JSON.stringify(`${dist}/model/server.js`)};
    import { TcpTransport } from ${JSON.stringify(`${dist}/transport/tcp-transport.js`)};
    import { FrameRecorder } from ${JSON.stringify(`${dist}/framelog/frame-log.js`)};
    import { OperationRunner } from ${JSON.stringify(`${dist}/framelog/operations.js`)};
    import { loadPairingKey } from ${JSON.stringify(`${dist}/config/pairing-key.js`)};
    const server = await new ModelServer({ port: 0 }).start();
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
    const rec = new FrameRecorder(t, { file: ${JSON.stringify(file)} });
    t.on('exchange', (r) => { if (r.seq === 119) { process.stdout.write('killing\\n'); process.kill(process.pid, 'SIGKILL'); } });
    const runner = new OperationRunner(t, { pairingKey: loadPairingKey({}) }, { annotate: rec.annotate });
    for (;;) await runner.run({ layer: 'l3', method: 'ping', args: { length: 8 } });
  `;
  const result = await new Promise<{ signal: NodeJS.Signals | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (_code, signal) => resolve({ signal, out }));
  });
  expect(result.signal, result.out).toBe('SIGKILL');
  const log = parseFrameLog(readFileSync(file, 'utf8'), { file });
  // The recorder's listener was added first, so exchange 119 was written before the kill.
  expect(log.entries.map((e) => e.seq)).toEqual([...Array(120).keys()]);
  expect(log.annotations.some((a) => a.kind === 'l3-command' && a.command === 'PING')).toBe(true);
});

test('decode: one line per L2 request and response, Get_Info and certificate blocks named and folded, CHIP_STATUS bits named, L3 commands and steps shown', async () => {
  const { log } = await record('decode');
  const text = decodeFrameLog(log.entries, { annotations: log.annotations });
  const lines = text.trim().split('\n');
  expect(text).toMatch(/L2 request GET_INFO \(CHIP_ID\) len=2 crc=ok\s+\[chipId > getInfo\]/);
  expect(text).toMatch(/L2 Get_Info X509_CERTIFICATE blocks 0\.\.\d+: \d+ reads/);
  expect(lines.filter((l) => l.includes('X509_CERTIFICATE')).length).toBe(1);
  expect(text).toContain('(CHIP_STATUS READY)');
  expect(text).not.toMatch(/L2 request[^\n]*CHIP_STATUS/);
  expect(text).toMatch(/L2 request HANDSHAKE \(pairing slot 0\) len=33 crc=ok/);
  expect(text).toContain('L3 command ECC_KEY_GENERATE slot=1 curve=P256');
  expect(text).toMatch(/L3 result INVALID_KEY \(0x12\) of ECC_KEY_READ/);
  expect(lines.find((l) => l.startsWith('>>'))).toMatch(/step eccKeyRead failed: .*INVALID_KEY/);
  // Chip-select windows are folded: no L1 tag names by default, every one with --l1.
  expect(text).not.toContain('CSN_LOW');
  const l1 = decodeFrameLog(log.entries, { annotations: log.annotations, l1: true });
  expect(l1.split('\n').filter((l) => l.includes('CSN_LOW')).length).toBe(log.entries.filter((e) => e.tag === TAG.CSN_LOW).length);
  const html = renderHtml(decodeLines(log.entries, { annotations: log.annotations }), log.meta);
  expect(html).toContain('<details><summary>L2 request GET_INFO (CHIP_ID)');
  expect(html).not.toMatch(/<script|https?:\/\//);
});

test('exact replay of a seeded recording matches every exchange on a fresh embedded model; a changed reply is reported by layer and field', async () => {
  const { log } = await record('exact');
  const seed = (log.meta as { seeds: { model: string } }).seeds.model;
  const t = await openReplayTarget('embedded', { modelSeed: seed });
  try {
    const r = await replayFrameLog(log.entries, t.transport);
    expect(r.diverged).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.matched).toBe(log.entries.length);
  } finally {
    await t.close();
  }
  // Change the STATUS byte of the ECC_Key_Read result's RES_OK response.
  const entries = log.entries.map((e) => ({ ...e }));
  const i = entries.findIndex((e) => e.tag === TAG.SPI_SEND && e.step === 'eccKeyRead' && e.rx?.startsWith('0102'));
  expect(i).toBeGreaterThan(0);
  entries[i].rx = '0104' + entries[i].rx!.slice(4);
  const t2 = await openReplayTarget('embedded', { modelSeed: seed });
  try {
    const r = await replayFrameLog(entries, t2.transport, { stopAtFirst: true });
    expect(r.diverged[0]).toMatchObject({ seq: entries[i].seq, layer: 'L2', field: 'STATUS', expected: 'RES_CONT', actual: 'RES_OK', step: 'eccKeyRead' });
  } finally {
    await t2.close();
  }
});

test('exact replay: a recorded error matches only an error of the same kind', async () => {
  const server = await new ModelServer({ port: 0 }).start();
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port, receiveRetries: 0 });
  try {
    // The model answers an unknown tag INVALID (TH_TCP_INVALID).
    const entries: FrameLogEntry[] = [{ seq: 0, t: 0, ms: 0, tag: 0x77, tx: '', rtag: TAG.INVALID, rx: '', err: 'TH_TCP_INVALID [transport] server does not know the tag' }];
    expect((await replayFrameLog(entries, t)).matched).toBe(1);
    const other: FrameLogEntry[] = [{ ...entries[0], seq: 1, err: 'TH_TCP_EXCEPTION [transport] server raised an internal exception', rtag: TAG.EXCEPTION }];
    const r = await replayFrameLog(other, t);
    expect(r.matched).toBe(0);
    expect(r.diverged[0]).toMatchObject({ field: 'error kind', expected: 'error TH_TCP_EXCEPTION' });
  } finally {
    await t.close();
    await server.close();
  }
});

test('semantic replay re-runs the recorded operations with a new session and reports a different result code', async () => {
  const { log } = await record('semantic');
  const ops = operationsFromAnnotations(log.annotations);
  expect(ops.map((o) => o.method)).toEqual(SAMPLE_OPS.map((o) => o.method));
  const run = async (list = ops) => {
    const t = await openReplayTarget('embedded');
    try {
      return await semanticReplay(list, t.transport, { pairingKey: PAIRING_KEY });
    } finally {
      await t.close();
    }
  };
  const same = await run();
  expect(same.diverged).toEqual([]);
  expect(same.matched).toBe(ops.length);
  // Pretend the recording had seen slot 3 holding a key: the replay's INVALID_KEY is a divergence.
  const edited = ops.map((o, i) => (i === 4 ? { ...o, expect: { result: 'OK' } } : o));
  const diff = await run(edited);
  expect(diff.diverged).toEqual([expect.objectContaining({ index: 4, actual: expect.objectContaining({ result: 'INVALID_KEY' }) })]);
});

test('a P-256 key that is no valid scalar is recorded as such (never its bytes), so semantic replay and codegen send an invalid key too', async () => {
  const ops = [op('l2', 'startSecureSession', { slot: 0 }), op('l3', 'eccKeyStore', { slot: 4, curve: 'P256', key: 'invalid' }), op('l3', 'eccKeyStore', { slot: 5, curve: 'P256' }), op('l3', 'eccKeyErase', { slot: 5 })];
  const { log, outcomes } = await record('invalid-key', ops);
  expect(outcomes.map((o) => o.result)).toEqual(['OK', 'FAIL', 'OK', 'OK']);
  const recorded = operationsFromAnnotations(log.annotations);
  expect(recorded.map((o) => o.args.key)).toEqual([undefined, 'invalid', undefined, undefined]);
  const t = await openReplayTarget('embedded');
  try {
    const r = await semanticReplay(recorded, t.transport, { pairingKey: PAIRING_KEY });
    expect(r.diverged).toEqual([]);
    expect(r.matched).toBe(ops.length);
  } finally {
    await t.close();
  }
  const spec = generateSpec(recorded, { title: 'invalid key', sourceLog: 'invalid-key.jsonl' });
  expect(spec).toContain("eccKeyStore(4, 'P256', STAND_IN_INVALID_P256_KEY)");
  expect(spec).toContain("eccKeyStore(5, 'P256', STAND_IN_PRIVATE_KEY)");
  expect(spec).toMatch(/import \{[^}]*STAND_IN_INVALID_P256_KEY[^}]*\} from/);
});

test('CLI: decode and exact replay of a recorded log; replay exits 0 on a match and 1 on a divergence', async () => {
  const { file, log } = await record('cli');
  const dec = await cli(['decode', file]);
  expect(dec.code, dec.stderr).toBe(0);
  expect(dec.stdout).toContain('L3 command ECC_KEY_GENERATE slot=1 curve=P256');
  const ok = await cli(['replay', file, '--target', 'embedded']);
  expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  expect(ok.stdout).toContain(`matched ${log.entries.length} (100.0%)`);
  expect(ok.stderr).toContain('replayed');
  // Without the model seed the chip's handshake key differs: the first divergence is the handshake response.
  const unseeded = path.join(path.dirname(file), 'unseeded.jsonl');
  writeFileSync(unseeded, serializeFrameLog({ ...log.meta, seeds: {} }, log.entries, log.annotations));
  const diff = await cli(['replay', unseeded, '--target', 'embedded']);
  expect(diff.code, diff.stdout + diff.stderr).toBe(1);
  // The first differing byte of the chip's random ephemeral key: byte 0 unless the two draws share it.
  expect(diff.stdout).toMatch(/first divergence: #\d+ SPI_SEND L2 RSP_DATA byte \d+ .*\[step startSecureSession\]/);
});

test('CLI: a corrupt line is an input error naming file and line (exit 2); --lenient skips it; a cut-short last line is reported and the rest replays', async () => {
  const { file } = await record('corrupt');
  const lines = readFileSync(file, 'utf8').split('\n');
  const corrupt = path.join(path.dirname(file), 'corrupt.jsonl');
  writeFileSync(corrupt, [...lines.slice(0, 5), '{"tag": "x"', ...lines.slice(5)].join('\n'));
  const bad = await cli(['replay', corrupt, '--target', 'embedded']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain(`${corrupt} line 6: not JSON`);
  const lenient = await cli(['decode', corrupt, '--lenient']);
  expect(lenient.code).toBe(0);
  expect(lenient.stderr).toContain('1 corrupt line(s) skipped');
  const cut = path.join(path.dirname(file), 'cut.jsonl');
  const text = readFileSync(file, 'utf8');
  writeFileSync(cut, text.slice(0, text.trimEnd().lastIndexOf('\n') + 20));
  const r = await cli(['replay', cut, '--target', 'embedded']);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stderr).toMatch(/line \d+ is cut short/);
  const usage = await cli(['replay', file]);
  expect(usage.code).toBe(2);
});

test('CLI: a target that stops answering ends the replay with exit 3', async () => {
  const { file } = await record('silent');
  // Accepts connections and never answers a frame.
  const silent = net.createServer((s) => s.on('data', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    const r = await cli(['replay', file, '--target', `127.0.0.1:${port}`, '--io-timeout', '300']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout + r.stderr).toMatch(/no reply|stopped answering|cannot reach/);
  } finally {
    silent.close();
  }
});

test('serve answers our driver from the recorded chip side; a host with another random source is reported where it departs', async () => {
  const { log, outcomes } = await record('serve');
  const seeds = (log.meta as { seeds: { host: string } }).seeds;
  const drive = async (hostSeed: string) => {
    const server = await new FrameLogServer(log.entries).start(0);
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port, receiveRetries: 0, ioTimeoutMs: 2000 });
    const got = [];
    try {
      const runner = new OperationRunner(t, { pairingKey: PAIRING_KEY }, { random: seededRandom(hostSeed) });
      for (const o of SAMPLE_OPS) got.push(await runner.run(o));
    } finally {
      await t.close();
      await server.close();
    }
    return { server, got };
  };
  const same = await drive(seeds.host);
  expect(same.server.departures).toEqual([]);
  expect(same.got).toEqual(outcomes);
  expect(same.server.done).toBe(true);
  const other = await drive(deriveSeeds('someone else').host);
  expect(other.server.departures[0]).toMatchObject({ step: 'startSecureSession' });
  expect(other.server.departures[0].expected).toContain('"name":"HANDSHAKE"');
});

test('the frame-log parser throws nothing but FrameLogError on random and mutated input, and what it accepts decodes', async () => {
  const { file } = await record('fuzz');
  const valid = readFileSync(file, 'utf8');
  const onlyTyped = (text: string) => {
    try {
      const log = parseFrameLog(text, { file: 'fuzz' });
      // Whatever parses also decodes.
      decodeFrameLog(log.entries, { annotations: log.annotations });
    } catch (e) {
      if (!(e instanceof FrameLogError)) throw e;
    }
  };
  fc.assert(fc.property(fc.string({ maxLength: 400 }), onlyTyped), { numRuns: 500 });
  fc.assert(fc.property(fc.array(fc.oneof(fc.json(), fc.string()), { maxLength: 20 }), (ls) => onlyTyped(ls.join('\n'))), { numRuns: 500 });
  const vLines = valid.split('\n');
  fc.assert(
    fc.property(fc.nat(vLines.length - 1), fc.nat(300), fc.string({ maxLength: 8 }), (li, at, ins) => {
      const copy = [...vLines];
      copy[li] = copy[li].slice(0, at) + ins + copy[li].slice(at + ins.length);
      onlyTyped(copy.join('\n'));
    }),
    { numRuns: 500 },
  );
});

test('host secrets (random draws) are recorded only when the header says secrets are recorded', async () => {
  const dir = tmpDir('secrets');
  const draw = Uint8Array.of(1, 2, 3, 4);
  for (const secrets of [false, true]) {
    const file = path.join(dir, `${secrets}.jsonl`);
    const rec = new FrameRecorder(undefined, { file, header: { secrets } });
    rec.recordSecret('host-random', draw);
    rec.detach();
    const log = parseFrameLog(readFileSync(file, 'utf8'));
    expect((log.meta as { secrets: boolean }).secrets).toBe(secrets);
    expect(log.annotations.filter((a) => a.kind === 'secret')).toEqual(secrets ? [{ seq: 0, kind: 'secret', what: 'host-random', hex: '01020304' }] : []);
  }
});
