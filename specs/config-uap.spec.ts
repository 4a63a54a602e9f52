/**
 * Configuration objects and user access privileges: R-config write/read/erase, I-config bits only
 * clearing, and for every UAP-guarded command: denied to a pairing slot whose privilege bit is
 * cleared in R-config, allowed to one that has it (R-config takes effect after a reboot).
 */
import { test, expect, spec } from '../fixtures/index.js';
import { register, CONFIG_REGISTERS, decodeRegister, encodeRegister } from '../harness/protocol/config-objects.js';
import type { TropicSquare } from '../harness/driver/tropic-square.js';
import { expectL3, applyRConfig, bytesOf, expectArgumentError, failHereWhenInjecting, rejection } from './helpers.js';

const UAPI = 'User API v1.4.0';
const DS = 'Datasheet vA.11 7.2.3 (Chip Configuration Privileges)';

// R-config changes are undone by the `chipRestore` fixture (snapshot before the first change,
// restored after the test, pass or fail), so these specs are reversible and run on rigs.
test.describe('R-config', () => {
  test('write, read back, erase restores all ones', spec(`${UAPI} 4.2 Tables 19-21`), async ({ session }) => {
    const a = register('CFG_UAP_PING').address;
    await session.rConfigErase();
    await session.rConfigWrite(a, 0x000000ff);
    failHereWhenInjecting('an R-config write');
    expect(await session.rConfigRead(a)).toBe(0x000000ff);
    await session.rConfigErase();
    expect(await session.rConfigRead(a)).toBe(0xffffffff);
  });
  test('writing a written CO answers FAIL', spec(`${UAPI} 4.2 Table 19`), async ({ session }) => {
    const a = register('CFG_UAP_RANDOM_VALUE_GET').address;
    await session.rConfigErase();
    await session.rConfigWrite(a, 0xff);
    await expectL3(session.rConfigWrite(a, 0xfe), 'FAIL');
    expect(await session.rConfigRead(a)).toBe(0xff);
  });
  test('an unaligned address answers FAIL', spec(`${UAPI} 4.2 Table 20 (ADDRESS)`), async ({ session }) => {
    await expectL3(session.rConfigRead(0x101), 'FAIL');
  });
  test('an address past the configuration space answers UNAUTHORIZED', spec(`${UAPI} 4.2 Table 20 (ADDRESS)`), async ({ session }) => {
    await expectL3(session.rConfigRead(0x200), 'UNAUTHORIZED');
  });
  for (const r of CONFIG_REGISTERS.filter((x) => x.name.startsWith('CFG_UAP_')).slice(0, 8)) {
    test(`${r.name} decodes to named fields and encodes back`, spec(`${UAPI} 5.2 (${r.name} @0x${r.address.toString(16)})`), async ({ session }) => {
      const v = await session.rConfigRead(r.address);
      const fields = decodeRegister(r, v);
      expect(decodeRegister(r, encodeRegister(r, fields, 0))).toEqual(fields);
      expect(Object.keys(fields).length).toBe(r.fields.length);
    });
  }
  test('a written R-config CO takes effect only after a reboot', spec(`${DS}; ${UAPI} 5.2`), async ({ session, harnessConfig, pairingKey }) => {
    const slot = harnessConfig.TROPIC_PAIRING_SLOT;
    await session.rConfigErase();
    await session.rConfigWrite(register('CFG_UAP_PING').address, 0xff & ~(1 << slot));
    expect((await session.ping(Uint8Array.of(1))).length).toBe(1); // not yet effective
    await session.reboot();
    await session.startSecureSession(slot, pairingKey);
    failHereWhenInjecting('an R-config change made effective by a reboot');
    await expectL3(session.ping(Uint8Array.of(1)), 'UNAUTHORIZED');
  });
});

test.describe('I-config', () => {
  test('reads all ones on a fresh chip', spec(`${UAPI} 4.2 Table 23`), async ({ session, target }) => {
    test.skip(target.kind === 'rig', "a rig's chip is not fresh: its I-config is whatever it was provisioned with");
    for (const r of CONFIG_REGISTERS) expect(await session.iConfigRead(r.address), `I-config ${r.name}`).toBe(0xffffffff);
  });
  test('I_Config_Write clears one bit and it cannot be set again', spec(`${UAPI} 4.2 Table 22 (bit from 1 to 0)`, 'irreversible'), async ({ session }) => {
    const a = register('CFG_UAP_MAC_AND_DESTROY').address;
    await session.iConfigWrite(a, 31);
    expect(await session.iConfigRead(a)).toBe(0x7fffffff);
    await session.iConfigWrite(a, 31); // clearing a cleared bit leaves it cleared
    expect(await session.iConfigRead(a)).toBe(0x7fffffff);
    await session.iConfigWrite(a, 0);
    expect(await session.iConfigRead(a)).toBe(0x7ffffffe);
  });
  test('bit index 32 is refused by the driver', spec(`${UAPI} 4.2 Table 22 (BIT_INDEX 0-31)`), async ({ session }) => {
    await expectArgumentError(session.iConfigWrite(0x100, 32), 'bit');
  });
  // Sent raw, the command reaches the chip: a chip that took BIT_INDEX modulo 32 would clear bit 0 for good.
  test('bit index 32 sent raw answers FAIL and clears nothing', spec(`${UAPI} 4.2 Table 22 (BIT_INDEX 0-31)`, 'irreversible'), async ({ session }) => {
    const before = await session.iConfigRead(0x100);
    expect((await session.l3Raw(Uint8Array.of(0x30, 0x00, 0x01, 32))).result).toBe(0x3c);
    expect(await session.iConfigRead(0x100)).toBe(before);
  });
});

/**
 * One UAP-guarded command: `run` sends it, `setup` makes it meaningful (a key to read). `irreversible`:
 * `run` changes what cannot be undone; `setupIrreversible`: only `setup` does (the denial probe then
 * runs without it: the command is refused before it looks at the counter).
 */
type Probe = { name: string; reg: string; table: string; irreversible?: true; setupIrreversible?: true; run: (ts: TropicSquare) => Promise<unknown>; setup?: (ts: TropicSquare) => Promise<unknown> };

const PROBES: Probe[] = [
  { name: 'Ping', reg: 'CFG_UAP_PING', table: 'Table 15', run: (ts) => ts.ping(Uint8Array.of(1)) },
  { name: 'Random_Value_Get', reg: 'CFG_UAP_RANDOM_VALUE_GET', table: 'Table 27', run: (ts) => ts.random(4) },
  { name: 'R_Mem_Data_Write', reg: 'CFG_UAP_R_MEM_DATA_WRITE', table: 'Table 24', run: (ts) => ts.memDataWrite(Uint8Array.of(1), 1) },
  { name: 'R_Mem_Data_Read', reg: 'CFG_UAP_R_MEM_DATA_READ', table: 'Table 25', run: (ts) => ts.memDataRead(1) },
  { name: 'R_Mem_Data_Erase', reg: 'CFG_UAP_R_MEM_DATA_ERASE', table: 'Table 26', run: (ts) => ts.memDataErase(1) },
  { name: 'ECC_Key_Generate', reg: 'CFG_UAP_ECC_KEY_GENERATE', table: 'Table 28', run: (ts) => ts.eccKeyGenerate(2, 'P256') },
  { name: 'ECC_Key_Store', reg: 'CFG_UAP_ECC_KEY_STORE', table: 'Table 29', run: (ts) => ts.eccKeyStore(2, 'ED25519', bytesOf(32)) },
  { name: 'ECC_Key_Read', reg: 'CFG_UAP_ECC_KEY_READ', table: 'Table 30', setup: (ts) => ts.eccKeyGenerate(2, 'P256'), run: (ts) => ts.eccKeyRead(2) },
  { name: 'ECC_Key_Erase', reg: 'CFG_UAP_ECC_KEY_ERASE', table: 'Table 31', run: (ts) => ts.eccKeyErase(2) },
  { name: 'ECDSA_Sign', reg: 'CFG_UAP_ECDSA_SIGN', table: 'Table 32', setup: (ts) => ts.eccKeyGenerate(2, 'P256'), run: (ts) => ts.ecdsaSign(2, bytesOf(32)) },
  { name: 'EDDSA_Sign', reg: 'CFG_UAP_EDDSA_SIGN', table: 'Table 33', setup: (ts) => ts.eccKeyGenerate(2, 'ED25519'), run: (ts) => ts.eddsaSign(2, bytesOf(8)) },
  { name: 'MCounter_Init', irreversible: true, reg: 'CFG_UAP_MCOUNTER_INIT', table: 'Table 34', run: (ts) => ts.mcounterInit(1, 5) },
  { name: 'MCounter_Update', irreversible: true, reg: 'CFG_UAP_MCOUNTER_UPDATE', table: 'Table 35', setup: (ts) => ts.mcounterInit(1, 5), run: (ts) => ts.mcounterUpdate(1) },
  { name: 'MCounter_Get', setupIrreversible: true, reg: 'CFG_UAP_MCOUNTER_GET', table: 'Table 36', setup: (ts) => ts.mcounterInit(1, 5), run: (ts) => ts.mcounterGet(1) },
  { name: 'MAC_And_Destroy', irreversible: true, reg: 'CFG_UAP_MAC_AND_DESTROY', table: 'Table 37', run: (ts) => ts.macAndDestroy(1, bytesOf(32)) },
  { name: 'Pairing_Key_Read', reg: 'CFG_UAP_PAIRING_KEY_READ', table: 'Table 17', run: (ts) => ts.pairingKeyRead(ts.pairingSlot!) },
  { name: 'R_Config_Read (configuration CO)', reg: 'CFG_UAP_R_CONFIG_READ', table: 'Table 20', run: (ts) => ts.rConfigRead(register('CFG_START_UP').address) },
  { name: 'I_Config_Read (functionality CO)', reg: 'CFG_UAP_I_CONFIG_READ', table: 'Table 23', run: (ts) => ts.iConfigRead(register('CFG_UAP_PING').address) },
];

/** The register value with the session slot's bit cleared in every field (or in `byte` only). */
function denyValue(reg: string, slot: number, byte?: number): number {
  const r = register(reg);
  let v = r.reset >>> 0;
  for (let b = 0; b < 4; b++) if (byte === undefined || b === byte) v &= ~(1 << (8 * b + slot));
  return v >>> 0;
}

test.describe('user access privileges', () => {
  for (const p of PROBES) {
    // counters and MAC-and-Destroy slots cannot be put back as they were on a real chip
    const denyKind = p.irreversible ? 'irreversible' : 'reversible';
    const allowKind = p.irreversible || p.setupIrreversible ? 'irreversible' : 'reversible';
    test(`${p.name} is denied (UNAUTHORIZED) to a slot without the privilege`, spec(`${UAPI} 4.2 ${p.table}; 5.2 ${p.reg}; ${DS}`, denyKind), async ({ session, harnessConfig, pairingKey }) => {
      const slot = harnessConfig.TROPIC_PAIRING_SLOT;
      // R_Config_Read is denied on the configuration half only (the probe reads CFG_START_UP).
      const value = p.reg === 'CFG_UAP_R_CONFIG_READ' ? denyValue(p.reg, slot, 0) | 0xffff0000 : denyValue(p.reg, slot);
      await applyRConfig(session, slot, pairingKey, { [p.reg]: value });
      if (p.name === 'R_Config_Read (configuration CO)') failHereWhenInjecting('R-config denying R_Config_Read was made effective');
      if (p.setup && !p.setupIrreversible) await p.setup(session);
      await expectL3(p.run(session), 'UNAUTHORIZED');
    });
    test(`${p.name} is allowed to a slot with the privilege`, spec(`${UAPI} 4.2 ${p.table}; 5.2 ${p.reg}; ${DS}`, allowKind), async ({ session, harnessConfig, pairingKey }) => {
      const slot = harnessConfig.TROPIC_PAIRING_SLOT;
      // Grant only this slot: every other slot's bit cleared.
      const only = (((1 << slot) * 0x01010101) | 0) >>> 0;
      await applyRConfig(session, slot, pairingKey, { [p.reg]: only });
      if (p.setup) await p.setup(session);
      if (p.name === 'ECDSA_Sign') failHereWhenInjecting('R-config changed and a key generated');
      expect(await rejection(p.run(session)), `${p.name} answers OK`).toBeUndefined();
    });
  }
  // Clearing the session slot's own R_Config_Write/Erase bit locks it out of restoring R-config:
  // the driver classes that write irreversible.
  test('R_Config_Write is denied to a slot without CFG_UAP_R_CONFIG_WRITE_ERASE', spec(`${UAPI} 4.2 Table 19; 5.2 CFG_UAP_R_CONFIG_WRITE_ERASE`, 'irreversible'), async ({ session, harnessConfig, pairingKey }) => {
    const slot = harnessConfig.TROPIC_PAIRING_SLOT;
    await session.rConfigWrite(register('CFG_UAP_R_CONFIG_WRITE_ERASE').address, denyValue('CFG_UAP_R_CONFIG_WRITE_ERASE', slot));
    await session.reboot();
    await session.startSecureSession(slot, pairingKey);
    await expectL3(session.rConfigWrite(register('CFG_UAP_PING').address, 0), 'UNAUTHORIZED');
    await expectL3(session.rConfigErase(), 'UNAUTHORIZED');
  });
  test('UAP of a ranged register applies per slot range (User Data slots 0-127 vs 128-255)', spec(`${UAPI} 5.2 CFG_UAP_R_MEM_DATA_READ`), async ({ session, harnessConfig, pairingKey }) => {
    const slot = harnessConfig.TROPIC_PAIRING_SLOT;
    await applyRConfig(session, slot, pairingKey, { CFG_UAP_R_MEM_DATA_READ: denyValue('CFG_UAP_R_MEM_DATA_READ', slot, 0) });
    await expectL3(session.memDataRead(127), 'UNAUTHORIZED');
    await expectL3(session.memDataRead(0), 'UNAUTHORIZED');
    // allowed: answered OK (whatever the slot holds), not UNAUTHORIZED
    await expect(session.memDataRead(128)).resolves.toBeInstanceOf(Uint8Array);
    await expect(session.memDataRead(255)).resolves.toBeInstanceOf(Uint8Array);
  });
});
