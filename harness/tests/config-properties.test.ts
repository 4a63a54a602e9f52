/**
 * Properties (fast-check) of the configuration readers and the wire codecs: random and mutated
 * input never throws anything but the project's typed errors, so a bad file or a bad byte stream
 * is always one coded message naming what is wrong, never a TypeError from deep inside a parser.
 * - model configuration YAML (parseModelConfig), its `faults:` block and ModelFaults.parse,
 * - the rig inventory YAML (parseInventory),
 * - dotenv lines (malformedDotenvLines, resolveConfig over a .env file) and variable values
 *   (resolveConfig over the environment),
 * - tagged frames (TaggedFrameParser: any split of the stream gives the same frames) and the L2
 *   response codec (decodeResponse, encodeResponse, l2FrameCrcOk agree).
 * The frame-log reader's property is in framelog.test.ts; random tagged messages and L2 frames
 * against a live model server are in model-server.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { test, expect } from '@playwright/test';
import { ConfigError, HarnessError, ModelError, ProtocolError, RigError } from '../errors.js';
import { parseModelConfig } from '../model/model-config.js';
import { ModelFaults } from '../model/faults.js';
import { parseInventory } from '../rig/pool/inventory.js';
import { ENV_SPEC, malformedDotenvLines, resolveConfig } from '../config/env.js';
import { DEFAULT_MODEL_CONFIG } from '../paths.js';
import { encodeFrame, TaggedFrameParser, type TaggedFrame } from '../protocol/tagged-frame.js';
import { decodeResponse, encodeResponse, l2FrameCrcOk } from '../protocol/l2.js';

type ErrorClass = abstract new (...args: never[]) => HarnessError;

// The yaml package reports unresolved tags and odd directives as process warnings: thousands of
// random documents would bury the run's output in them. They are not what these properties check.
test.beforeAll(() => {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (warning instanceof Error && warning.name === 'YAMLWarning') return;
    if (String(warning).startsWith('Keys with collection values will be stringified')) return;
    (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
});

/** Run `fn`; anything thrown must be one of `allowed` (a typed error with a code), else the property fails with it. */
function onlyTyped(allowed: ErrorClass[], fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (allowed.some((c) => e instanceof c) && /^TH_[A-Z0-9_]+ \[/.test((e as Error).message)) return true;
    throw new Error(`untyped throw: ${(e as Error)?.constructor?.name}: ${(e as Error)?.stack ?? String(e)}`, { cause: e });
  }
}

/** Edits that keep most of a valid text: delete a range, insert text, duplicate or swap lines, cut the end. */
const edit = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(':', ': ', '\n', '  ', '- ', '!!binary ', '&a ', '*a', '"', "'", '{', '[', '#', '\t', '=', 'export ', '\\')) }),
  fc.record({ kind: fc.constant('dupline' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function applyEdits(text: string, edits: Edit[]): string {
  let t = text;
  for (const e of edits) {
    const n = Math.max(t.length, 1);
    if (e.kind === 'delete') t = t.slice(0, e.at % n) + t.slice((e.at % n) + e.len);
    else if (e.kind === 'insert') t = t.slice(0, e.at % n) + e.text + t.slice(e.at % n);
    else if (e.kind === 'cut') t = t.slice(0, e.at % n);
    else {
      const lines = t.split('\n');
      if (e.kind === 'dupline') lines.splice(e.line % lines.length, 0, lines[e.line % lines.length]);
      else [lines[e.a % lines.length], lines[e.b % lines.length]] = [lines[e.b % lines.length], lines[e.a % lines.length]];
      t = lines.join('\n');
    }
  }
  return t;
}
const mutated = (text: string) => fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => applyEdits(text, edits));

/** Values YAML can hold, bytes included (dumped as !!binary). */
const yamlValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
  fc.constantFrom('sh0-private.pem', 'no-such.pem', 'x.der', '.', '..', '/', 'tropic01-model.yml.pem'),
);

const MODEL_KEYS = ['s_t_priv', 's_t_pub', 'x509_certificate', 'i_pairing_keys', 'r_config', 'i_config', 'r_user_data', 'r_ecc_keys', 'r_mcounters', 'r_macandd_data', 'chip_id', 'riscv_fw_version', 'spect_fw_version', 'busy_iter', 'init_byte', 'activate_encryption', 'debug_random_value', 'faults'];
const FAULT_KEYS = ['busyPolls', 'corruptResponseCrc', 'loseResponse', 'alarm', 'startupMode', 'delayResponseMs', 'exceptionAtFrame', 'resultOverride'];

const faultsValue = fc.oneof(
  yamlValue,
  fc.dictionary(fc.oneof(fc.constantFrom(...FAULT_KEYS), fc.string({ maxLength: 6 })), fc.oneof(yamlValue, fc.record({ command: fc.oneof(fc.string(), fc.integer(), fc.constantFrom('PING', 'ECC_KEY_READ')), slot: fc.oneof(fc.integer(), fc.string()), result: fc.oneof(fc.integer(), fc.constantFrom('OK', 'FAIL', 'INVALID_KEY', 'nope')) }, { requiredKeys: [] })), { maxKeys: 4 }),
);

const defaultModelText = readFileSync(DEFAULT_MODEL_CONFIG, 'utf8');
const MODEL_ERRORS: ErrorClass[] = [ConfigError];

test('model configuration YAML: random, mutated and structurally random input throws nothing but ConfigError', () => {
  // Relative key and certificate paths resolve beside the default configuration, as for the real file.
  const parse = (text: string) => onlyTyped(MODEL_ERRORS, () => parseModelConfig(text, DEFAULT_MODEL_CONFIG));
  expect(() => parseModelConfig(defaultModelText, DEFAULT_MODEL_CONFIG)).not.toThrow();
  fc.assert(fc.property(fc.string({ maxLength: 300 }), parse), { numRuns: 300 });
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'ab:- \n!&*[]{}"\'#|>%@`?,'.split('')), maxLength: 120 }), parse), { numRuns: 300 });
  fc.assert(fc.property(mutated(defaultModelText), parse), { numRuns: 300 });
  const doc = fc.dictionary(fc.oneof(fc.constantFrom(...MODEL_KEYS), fc.string({ maxLength: 8 })), fc.oneof(yamlValue, fc.dictionary(fc.string({ maxLength: 10 }), yamlValue, { maxKeys: 3 })), { maxKeys: 6 });
  fc.assert(fc.property(doc, (d) => parse(stringify(d, { customTags: ['binary'] }))), { numRuns: 300 });
  // The default configuration with one key replaced by anything.
  const base = parseModelConfig(defaultModelText, DEFAULT_MODEL_CONFIG).raw as Record<string, unknown>;
  fc.assert(fc.property(fc.constantFrom(...MODEL_KEYS), fc.oneof(yamlValue, faultsValue), (k, v) => parse(stringify({ ...base, [k]: v }, { customTags: ['binary'] }))), { numRuns: 400 });
});

test('faults YAML: any value under `faults:` or given to ModelFaults.parse throws nothing but ModelError / ConfigError', () => {
  fc.assert(fc.property(faultsValue, (f) => onlyTyped([ModelError], () => ModelFaults.parse(f))), { numRuns: 500 });
  fc.assert(fc.property(fc.anything({ maxDepth: 2 }), (f) => onlyTyped([ModelError], () => ModelFaults.parse(f))), { numRuns: 300 });
  const withFaults = (faultsYaml: string) => defaultModelText.replace(/\s*$/, '\n') + 'faults:\n' + faultsYaml.replace(/^/gm, '  ') + '\n';
  const faultsText = stringify({ busyPolls: 2, resultOverride: { command: 'ECC_KEY_READ', slot: 3, result: 'INVALID_KEY' } });
  expect(parseModelConfig(withFaults(faultsText), DEFAULT_MODEL_CONFIG).faults).toMatchObject({ busyPolls: 2 });
  fc.assert(fc.property(mutated(faultsText), (t) => onlyTyped(MODEL_ERRORS, () => parseModelConfig(withFaults(t), DEFAULT_MODEL_CONFIG))), { numRuns: 300 });
});

const inventoryText = `rigs:
  - name: bench-1
    url: tcp://127.0.0.1:28992
    labels: { part: TR01-C2P-T101, riscv_fw: 2.0.0, desk: 3 }
  - name: bench-2
    url: tls://[::1]:28993
`;

test('rig inventory YAML: random, mutated and structurally random input throws nothing but RigError', () => {
  const parse = (text: string) => onlyTyped([RigError], () => parseInventory(text, 'rigs.yaml'));
  expect(parseInventory(inventoryText, 'rigs.yaml')).toHaveLength(2);
  fc.assert(fc.property(fc.string({ maxLength: 300 }), parse), { numRuns: 300 });
  fc.assert(fc.property(mutated(inventoryText), parse), { numRuns: 500 });
  const rig = fc.dictionary(
    fc.oneof(fc.constantFrom('name', 'url', 'labels'), fc.string({ maxLength: 5 })),
    fc.oneof(yamlValue, fc.constantFrom('tcp://h:0', 'tcp://h:99999', 'tls://[::1]:1', 'tcp://[zz]:1', 'bench 1', 'a'.repeat(70)), fc.dictionary(fc.string({ maxLength: 6 }), yamlValue, { maxKeys: 3 })),
    { maxKeys: 4 },
  );
  fc.assert(fc.property(fc.oneof(fc.record({ rigs: fc.oneof(fc.array(rig, { maxLength: 3 }), yamlValue) }), yamlValue), (d) => parse(stringify(d))), { numRuns: 400 });
});

const SPEC_KEYS = Object.keys(ENV_SPEC);
const envValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom('0', '1', 'true', 'yes', '-1', '1e3', '0x10', ' 5 ', 'rig', 'tvl-process', 'tcp://127.0.0.1:1', 'tls://[::1]:0', 'redis://', 'redis://h:99999/x', 'a=b,c', '=', 'x.pem', '.yaml', '/', '"q', 'node x.js tcp', 'A=1 prog', "'unterminated"),
  ...Object.values(ENV_SPEC).map((s) => fc.constant(s.example)),
);

test('configuration values: any set of variables gives a configuration or one ConfigError listing the problems', () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'h11-config-prop-'));
  try {
    const vars = fc.dictionary(fc.constantFrom(...SPEC_KEYS), envValue, { maxKeys: 6 });
    fc.assert(fc.property(vars, (env) => onlyTyped([ConfigError], () => resolveConfig(env, empty))), { numRuns: 500 });
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

const dotenvText = `# a comment
TROPIC_TARGET=embedded
export TROPIC_PAIRING_SLOT=1
TROPIC_SEED="multi
line"
TVL_PIP_ARGS='--no-deps'
`;

test('dotenv lines: malformed-line detection never throws; a .env file of any text gives a configuration or one ConfigError', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h11-dotenv-prop-'));
  try {
    const line = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.tuple(fc.constantFrom(...SPEC_KEYS, 'export TROPIC_TARGET', 'X', '1BAD', 'A B'), fc.constantFrom('=', ' = ', ' ', ''), envValue).map(([k, eq, v]) => `${k}${eq}${v}`),
      fc.constantFrom('#', '', '   ', '"', "TROPIC_SEED='", 'TROPIC_TARGET rig', '\r'),
    );
    const text = fc.oneof(fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\n')), mutated(dotenvText), fc.string({ maxLength: 200 }));
    fc.assert(
      fc.property(text, (t) => {
        const problems = malformedDotenvLines(t, '.env');
        expect(problems.every((p) => typeof p === 'string' && p.startsWith('.env line '))).toBe(true);
        writeFileSync(path.join(dir, '.env'), t);
        return onlyTyped([ConfigError], () => resolveConfig({}, dir));
      }),
      { numRuns: 400 },
    );
    // A malformed line is a ConfigError naming it, never silently skipped; a secret's value is not shown.
    writeFileSync(path.join(dir, '.env'), 'TROPIC_TARGET rig\nTROPIC_PAIRING_KEY 00112233\n');
    expect(() => resolveConfig({}, dir)).toThrow(/\.env line 1: "TROPIC_TARGET rig" is not NAME=value[^]*\.env line 2: "TROPIC_PAIRING_KEY …" is not NAME=value/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const frame = fc.record({ tag: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 300 }) });

/** Cut `bytes` at the given points (any order, any count). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    parts.push(bytes.subarray(from, c));
    from = c;
  }
  return parts;
}

const concat = (parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

test('tagged frames: any split of an encoded stream gives back exactly its frames; random bytes throw only TH_TCP_OVERSIZE', () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (frames, cuts) => {
      // Both payload modes: fresh copies, and views into the reads (the model server's).
      for (const mode of ['copy', 'view'] as const) {
        const parser = new TaggedFrameParser(undefined, 'throw', mode);
        const parts = split(concat(frames.map((f) => encodeFrame(f.tag, f.payload))), cuts);
        const got: TaggedFrame[] = parts.flatMap((p) => parser.push(p));
        expect(got.map((f) => ({ tag: f.tag, payload: Uint8Array.from(f.payload) }))).toEqual(frames);
        expect(parser.midFrame).toBe(false);
        // a copy never shares memory with a read; a view of a frame inside one read does
        const shared = got.filter((f) => f.payload.length && parts.some((p) => p.buffer === f.payload.buffer));
        if (mode === 'copy') expect(shared).toEqual([]);
      }
    }),
    { numRuns: 400 },
  );
  // In view mode, a payload inside one read is a view into it (no copy).
  const read = concat([encodeFrame(3, Uint8Array.of(1, 2, 3)), encodeFrame(4, Uint8Array.of(5))]);
  const views = new TaggedFrameParser(undefined, 'throw', 'view').push(read);
  expect(views.map((f) => [f.payload.buffer === read.buffer, f.payload.byteOffset])).toEqual([
    [true, 3],
    [true, 9],
  ]);
  // A server parser (discard mode) stays in sync past an oversize frame: the frame after it arrives intact.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 11, max: 2000 }), frame, fc.array(fc.nat(), { maxLength: 8 }), (tag, big, next, cuts) => {
      const parser = new TaggedFrameParser(10, 'discard');
      const stream = concat([encodeFrame(tag, new Uint8Array(big)), encodeFrame(next.tag, next.payload.subarray(0, 10))]);
      const got = split(stream, cuts).flatMap((p) => parser.push(p));
      expect(got.map((f) => [f.tag, f.oversize, Uint8Array.from(f.payload)])).toEqual([
        [tag, big, new Uint8Array(0)],
        [next.tag, undefined, Uint8Array.from(next.payload.subarray(0, 10))],
      ]);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 0, max: 300 }), (bytes, cuts, limit) => {
      const parser = new TaggedFrameParser(limit);
      for (const p of split(bytes, cuts)) {
        try {
          for (const f of parser.push(p)) expect(f.payload.length).toBeLessThanOrEqual(limit);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          expect((e as ProtocolError).code).toBe('TH_TCP_OVERSIZE');
        }
      }
    }),
    { numRuns: 400 },
  );
});

test('L2 response codec: random bytes decode or throw a TH_L2_* ProtocolError, l2FrameCrcOk agrees, encode/decode round-trips, any one flipped bit is caught', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 255 })).map(([s, d]) => encodeResponse(s, d))), (bytes) => {
      let ok = true;
      try {
        decodeResponse(bytes);
      } catch (e) {
        ok = false;
        expect(e).toBeInstanceOf(ProtocolError);
        expect((e as ProtocolError).code).toMatch(/^TH_L2_(SHORT|LENGTH|CRC)$/);
      }
      expect(l2FrameCrcOk(bytes)).toBe(ok);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 255 }), fc.nat(), (status, data, bit) => {
      const frame = encodeResponse(status, data);
      const r = decodeResponse(frame);
      expect([r.status, Uint8Array.from(r.data)]).toEqual([status, Uint8Array.from(data)]);
      const flipped = Uint8Array.from(frame);
      const at = bit % (frame.length * 8);
      flipped[at >> 3] ^= 1 << (at & 7);
      expect(() => decodeResponse(flipped)).toThrow(/^TH_L2_(LENGTH|CRC) /);
    }),
    { numRuns: 500 },
  );
});
