/**
 * The irreversible-operation policy lives in the driver (harness/driver/operations.ts): checked on
 * what is actually sent, after argument validation, recorded in the driver's journal; the fixtures
 * only say whether it may run. Specs' tags must agree with what their drivers did.
 */
import { test, expect } from '@playwright/test';
import { ModelServer } from '../model/server.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { OPERATIONS_ANNOTATION, L3_OPERATIONS, classifyL3, classifyStartup, type OperationRecord } from '../driver/operations.js';
import { ArgumentError, TargetError } from '../errors.js';
import { L3_CMD, encode } from '../protocol/l3.js';
import { frameL3 } from '../protocol/session.js';
import { register } from '../protocol/config-objects.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { plantSpecs, runPlaywright, snapshotChip, spec } from './reversible-run.js';

const cfg = resolveConfig({ ...process.env, TROPIC_TARGET: 'embedded' });

async function withDriver(run: (ts: TropicSquare, journal: OperationRecord[]) => Promise<void>): Promise<void> {
  const server = await new ModelServer({ port: 0 }).start();
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port, connectTimeoutMs: 5000, ioTimeoutMs: 5000 });
  try {
    const journal: OperationRecord[] = [];
    const ts = new TropicSquare(t, { journal, policy: () => 'by this test' });
    await ts.startSecureSession(cfg.TROPIC_PAIRING_SLOT, loadPairingKey(cfg));
    await run(ts, journal);
  } finally {
    await t.close();
    await server.close();
  }
}

test('every User API L3 command has an effect class in the one table', () => {
  for (const [name, id] of Object.entries(L3_CMD)) expect(L3_OPERATIONS[id], name).toBeDefined();
  expect(classifyL3(encode.iConfigWrite(0x100, 3)).effect).toBe('irreversible');
  expect(classifyL3(encode.macAndDestroy(0, new Uint8Array(32))).effect).toBe('irreversible');
  expect(classifyL3(encode.mcounterUpdate(1)).effect).toBe('irreversible');
  expect(classifyL3(encode.rConfigErase()).effect).toBe('reversible-with-restore');
  expect(classifyL3(encode.eccKeyGenerate(2, 'P256')).touches).toEqual({ kind: 'ecc-slot', slot: 2 });
  expect(classifyL3(encode.rMemDataRead(3)).effect).toBe('read-only');
  expect(classifyStartup(3).effect).toBe('reversible-with-restore');
  expect(classifyStartup(1).effect).toBe('read-only');
  // clearing the session slot's own R-config write/erase privilege locks it out of any restore
  const lockOut = encode.rConfigWrite(register('CFG_UAP_R_CONFIG_WRITE_ERASE').address, 0xfe);
  expect(classifyL3(lockOut, { sessionSlot: 0 }).effect).toBe('irreversible');
  expect(classifyL3(lockOut, { sessionSlot: 1 }).effect).toBe('reversible-with-restore');
});

test('the driver validates arguments before the policy: bad arguments are ArgumentErrors, valid irreversible ones are refused and recorded, and the chip is unchanged', async () => {
  await withDriver(async (ts, journal) => {
    const badBit = await ts.iConfigWrite(0x100, 32).catch((e: unknown) => e);
    expect(badBit).toBeInstanceOf(ArgumentError);
    expect((badBit as ArgumentError).argument).toBe('bit');
    const badKey = await ts.pairingKeyWrite(2, new Uint8Array(31)).catch((e: unknown) => e);
    expect(badKey).toBeInstanceOf(ArgumentError);
    expect((badKey as ArgumentError).argument).toBe('publicKey');
    expect(journal, 'nothing recorded for refused arguments').toEqual([]);

    const refused = await ts.iConfigWrite(0x100, 31).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TargetError);
    expect((refused as TargetError).code).toBe('TH_IRREVERSIBLE_REFUSED');
    expect((refused as TargetError).message).toContain('I_Config_Write(address 0x100, bit 31)');
    expect(journal.map((r) => [r.name, r.effect, r.outcome])).toEqual([['I_Config_Write', 'irreversible', 'refused']]);
    expect(await ts.iConfigRead(0x100), 'I-config untouched').toBe(0xffffffff);

    // sent raw, and sealed by hand: refused just the same
    await expect(ts.l3Raw(Uint8Array.of(L3_CMD.MAC_AND_DESTROY, 0, 0, 0, ...new Uint8Array(32)))).rejects.toThrow(/TH_IRREVERSIBLE_REFUSED/);
    expect(() => frameL3(ts.session!.sealCommand(encode.pairingKeyInvalidate(1)))).toThrow(/Pairing_Key_Invalidate\(slot 1\) is irreversible/);
    expect(journal.at(-1)).toMatchObject({ name: 'Pairing_Key_Invalidate', handSealed: true, outcome: 'refused' });
    // the session still works: the refused hand-sealed command took no nonce
    expect(await ts.ping(Uint8Array.of(5))).toEqual(Uint8Array.of(5));
  });
});

test('a planted spec tagged @reversible that clears an I-config bit fails, refused, on a rig and on the embedded model, and the rig chip is unchanged', async () => {
  test.setTimeout(240_000);
  const planted = plantSpecs({
    'mistagged.spec.ts': `import { test, spec } from '@fixtures';
test('planted: a reversible spec clears an I-config bit', spec('planted'), async ({ session }) => {
  await session.iConfigWrite(0x100, 3);
});
test('planted: an irreversible spec that only reads', spec('planted', 'irreversible'), async ({ session }) => {
  await session.iConfigRead(0x100);
});
`,
  });
  const server = await new ModelServer({ port: 0 }).start();
  try {
    const before = await snapshotChip(server.port);
    const onRig = await runPlaywright(['-c', planted.config], { TROPIC_TARGET: 'rig', TROPIC_RIG: `tcp://127.0.0.1:${server.port}`, TROPIC_ALLOW_IRREVERSIBLE: '1' });
    const mistagged = spec(onRig.results, 'a reversible spec clears an I-config bit');
    expect(mistagged?.status).toBe('failed');
    expect(mistagged?.error).toContain('TH_IRREVERSIBLE_REFUSED');
    expect(mistagged?.annotations.find((a) => a.type === OPERATIONS_ANNOTATION)?.description).toContain('I_Config_Write(address 0x100, bit 3) irreversible → refused');
    expect(await snapshotChip(server.port), 'the rig chip is unchanged').toEqual(before);

    const embedded = await runPlaywright(['-c', planted.config], { TROPIC_TARGET: 'embedded' });
    expect(spec(embedded.results, 'a reversible spec clears an I-config bit')?.error).toContain('TH_IRREVERSIBLE_REFUSED');
    const overTagged = spec(embedded.results, 'an irreversible spec that only reads');
    expect(overTagged?.status).toBe('failed');
    expect(overTagged?.error).toContain('TH_SPEC_TAG');
  } finally {
    planted.remove();
    await server.close();
  }
});

test("every spec's tag agrees with what its drivers recorded (the whole suite on the embedded model)", async () => {
  test.setTimeout(600_000);
  const run = await runPlaywright(['--project=specs'], { TROPIC_TARGET: 'embedded' });
  const specs = run.results.filter((r) => r.file.includes('specs/'));
  expect(specs.length).toBeGreaterThan(200);
  const disagreements: string[] = [];
  for (const r of specs) {
    if (r.status === 'skipped') continue;
    const ops = r.annotations.find((a) => a.type === OPERATIONS_ANNOTATION)?.description;
    if (ops === undefined) {
      disagreements.push(`${r.title}: no ${OPERATIONS_ANNOTATION} annotation`);
      continue;
    }
    const irreversible = / irreversible → /.test(ops);
    if (r.tags.includes('@irreversible') !== irreversible) disagreements.push(`${r.title} [${r.tags.join(' ')}]: ${ops.replaceAll('\n', '; ')}`);
    if (r.status !== 'passed') disagreements.push(`${r.title}: ${r.status}: ${r.error?.split('\n')[0]}`);
  }
  expect(disagreements).toEqual([]);
});
