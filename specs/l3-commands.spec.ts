/** L3 commands: slot and length boundaries, occupied vs empty slots, result codes, independent checks. */
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { p256 } from '@noble/curves/p256';
import { ed25519 } from '@noble/curves/ed25519';
import { test, expect, spec, knownFinding } from '../fixtures/index.js';
import { L3_CMD, L3_RESULT } from '../harness/protocol/l3.js';
import { u16le } from '../harness/bytes.js';
import { expectL3, bytesOf, expectArgumentError, failHereWhenInjecting } from './helpers.js';

const UAPI = 'User API v1.4.0 4.2';

// Keys and data a spec leaves behind are removed by the `chipRestore` fixture (after the test,
// pass or fail): specs erase only where erasing is what they check.

test.describe('Random_Value_Get', () => {
  for (const n of [0, 1, 32, 254, 255]) {
    test(`returns exactly ${n} bytes`, spec(`${UAPI} Table 27 (N_BYTES 0 - 255)`), async ({ session }) => {
      expect((await session.random(n)).length).toBe(n);
    });
  }
  test('two 32-byte values differ', spec(`${UAPI} Table 27`), async ({ session }) => {
    expect(Buffer.from(await session.random(32)).equals(Buffer.from(await session.random(32)))).toBe(false);
  });
  test('256 bytes is refused by the driver before sending', spec(`${UAPI} Table 27 (N_BYTES size 1)`), async ({ session }) => {
    await expectArgumentError(session.random(256), 'count');
  });
});

test.describe('ECC keys', () => {
  for (const slot of [0, 1, 30, 31]) {
    for (const curve of ['P256', 'ED25519'] as const) {
      test(`generate ${curve} in slot ${slot}, read it back, erase it`, spec(`${UAPI} Tables 28, 30, 31 (SLOT 0 - 31)`), async ({ session }) => {
        await session.eccKeyGenerate(slot, curve);
        if (slot === 1) failHereWhenInjecting(`an ${curve} key generated in slot 1`);
        const k = await session.eccKeyRead(slot);
        expect(k.curve).toBe(curve);
        expect(k.origin).toBe('GENERATED');
        expect(k.publicKey.length).toBe(curve === 'P256' ? 64 : 32);
        await session.eccKeyErase(slot);
        await expectL3(session.eccKeyRead(slot), 'INVALID_KEY');
      });
    }
  }
  test('slot 32 is refused by the driver', spec(`${UAPI} Table 28 (SLOT 0 - 31)`), async ({ session }) => {
    await expectArgumentError(session.eccKeyGenerate(32, 'P256'), 'slot');
  });
  test('slot 32 sent raw is not executed', spec(`${UAPI} Table 28 (SLOT 0 - 31)`), async ({ session }) => {
    // not executed: refused, and slot 0 (32 modulo 32) unchanged
    const slot0 = await session.l3Raw(Uint8Array.of(L3_CMD.ECC_KEY_READ, 0, 0));
    const r = await session.l3Raw(Uint8Array.of(L3_CMD.ECC_KEY_GENERATE, ...u16le(32), 1));
    expect(r.result).not.toBe(L3_RESULT.OK);
    expect(await session.l3Raw(Uint8Array.of(L3_CMD.ECC_KEY_READ, 0, 0))).toEqual(slot0);
  });
  test('generate into an occupied slot answers FAIL', spec(`${UAPI} Table 28`), async ({ session }) => {
    await session.eccKeyGenerate(4, 'P256');
    const first = await session.eccKeyRead(4);
    await expectL3(session.eccKeyGenerate(4, 'ED25519'), 'FAIL');
    expect(await session.eccKeyRead(4), 'the key in the slot is unchanged').toEqual(first);
  });
  test('an unknown curve answers FAIL', spec(`${UAPI} Table 28 (CURVE P256 0x01, ED25519 0x02)`), async ({ session }) => {
    expect((await session.l3Raw(Uint8Array.of(L3_CMD.ECC_KEY_GENERATE, 5, 0, 3))).result).toBe(L3_RESULT.FAIL);
  });
  test('read of an empty slot answers INVALID_KEY', spec(`${UAPI} Table 30 (INVALID_KEY)`), async ({ session }) => {
    await expectL3(session.eccKeyRead(6), 'INVALID_KEY');
  });
  test('erase of an empty slot answers OK', spec(`${UAPI} Table 31`), async ({ session }) => {
    await expectL3(session.eccKeyRead(7), 'INVALID_KEY');
    expect((await session.l3Raw(Uint8Array.of(L3_CMD.ECC_KEY_ERASE, 7, 0))).result).toBe(L3_RESULT.OK);
    await expectL3(session.eccKeyRead(7), 'INVALID_KEY');
  });
  test('store a P-256 key: the chip reports its public key and origin STORED', spec(`${UAPI} Tables 29, 30`), async ({ session }) => {
    const priv = p256.utils.randomPrivateKey();
    await session.eccKeyStore(8, 'P256', priv);
    failHereWhenInjecting('a P-256 key stored in slot 8');
    const k = await session.eccKeyRead(8);
    expect(k.origin).toBe('STORED');
    expect(Buffer.from(k.publicKey).toString('hex')).toBe(Buffer.from(p256.getPublicKey(priv, false).slice(1)).toString('hex'));
  });
  test('store an Ed25519 key: the chip reports its public key', spec(`${UAPI} Tables 29, 30`), async ({ session }) => {
    const priv = ed25519.utils.randomPrivateKey();
    await session.eccKeyStore(9, 'ED25519', priv);
    expect(Buffer.from((await session.eccKeyRead(9)).publicKey)).toEqual(Buffer.from(ed25519.getPublicKey(priv)));
  });
  test('store a P-256 key of zero answers FAIL', spec(`${UAPI} Table 29 (K must be a member of the field)`), async ({ session }) => {
    await expectL3(session.eccKeyStore(10, 'P256', new Uint8Array(32)), 'FAIL');
  });
  test('store a P-256 key equal to the group order answers FAIL', spec(`${UAPI} Table 29`), async ({ session }) => {
    const n = Buffer.from(p256.CURVE.n.toString(16).padStart(64, '0'), 'hex');
    await expectL3(session.eccKeyStore(10, 'P256', new Uint8Array(n)), 'FAIL');
  });
  test('a 31-byte private key is refused by the driver', spec(`${UAPI} Table 29 (K size 32)`), async ({ session }) => {
    await expectArgumentError(session.eccKeyStore(10, 'P256', new Uint8Array(31)), 'privateKey');
  });
});

test.describe('signatures, verified independently', () => {
  for (const slot of [0, 31]) {
    test(`ECDSA_Sign in slot ${slot} verifies with node:crypto against the key the chip reports`, spec(`${UAPI} Table 32`), async ({ session }) => {
      await session.eccKeyGenerate(slot, 'P256');
      const pub = (await session.eccKeyRead(slot)).publicKey;
      const hash = createHash('sha256').update(`message ${slot}`).digest();
      const { r, s } = await session.ecdsaSign(slot, hash);
      const der = p256.Signature.fromCompact(Buffer.concat([r, s])).toDERRawBytes();
      const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(pub.subarray(0, 32)).toString('base64url'), y: Buffer.from(pub.subarray(32)).toString('base64url') }, format: 'jwk' });
      // node:crypto hashes the message itself; verify over the raw hash with noble as well.
      expect(p256.verify(der, hash, Uint8Array.of(4, ...pub), { prehash: false })).toBe(true);
      expect(nodeVerify('sha256', Buffer.from(`message ${slot}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, s]))).toBe(true);
    });
  }
  for (const len of [0, 1, 64, 4096]) {
    test(`EDDSA_Sign over a ${len}-byte message verifies with node:crypto`, spec(`${UAPI} Table 33 (MSG 0 - 4096)`), async ({ session }) => {
      await session.eccKeyGenerate(3, 'ED25519');
      const pub = (await session.eccKeyRead(3)).publicKey;
      const msg = bytesOf(len);
      const { r, s } = await session.eddsaSign(3, msg);
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' });
      expect(nodeVerify(null, msg, key, Buffer.concat([r, s]))).toBe(true);
    });
  }
  test('EDDSA_Sign with a 4097-byte message is refused by the driver', spec(`${UAPI} Table 33 (max size of 4096 bytes)`), async ({ session }) => {
    await expectArgumentError(session.eddsaSign(3, new Uint8Array(4097)), 'message');
  });
  test('ECDSA_Sign with an Ed25519 key answers INVALID_KEY', spec(`${UAPI} Table 32 (INVALID_KEY)`), async ({ session }) => {
    await session.eccKeyGenerate(11, 'ED25519');
    await expectL3(session.ecdsaSign(11, new Uint8Array(32)), 'INVALID_KEY');
  });
  test('EDDSA_Sign with a P-256 key answers INVALID_KEY', spec(`${UAPI} Table 33 (INVALID_KEY)`), async ({ session }) => {
    await session.eccKeyGenerate(12, 'P256');
    await expectL3(session.eddsaSign(12, Uint8Array.of(1)), 'INVALID_KEY');
  });
  test('ECDSA_Sign on an empty slot answers INVALID_KEY', spec(`${UAPI} Table 32 (INVALID_KEY)`), async ({ session }) => {
    await expectL3(session.ecdsaSign(13, new Uint8Array(32)), 'INVALID_KEY');
  });
  test('EDDSA_Sign on an empty slot answers INVALID_KEY', spec(`${UAPI} Table 33 (INVALID_KEY)`), async ({ session }) => {
    await expectL3(session.eddsaSign(13, new Uint8Array(1)), 'INVALID_KEY');
  });
  test('ECDSA_Sign with a 31-byte hash is refused by the driver', spec(`${UAPI} Table 32 (MSG_HASH size 32)`), async ({ session }) => {
    await expectArgumentError(session.ecdsaSign(0, new Uint8Array(31)), 'hash');
  });
});

test.describe('R_Mem_Data (User Data partition)', () => {
  for (const slot of [0, 1, 510, 511]) {
    test(`slot ${slot}: write, read back, erase, read empty`, spec(`${UAPI} Tables 24-26 (UDATA_SLOT 0 - 511)`), async ({ session }) => {
      const data = bytesOf(33, (i) => (i + slot) & 0xff);
      await session.memDataWrite(data, slot);
      if (slot === 1) failHereWhenInjecting('User Data slot 1 written');
      expect(Buffer.from(await session.memDataRead(slot))).toEqual(Buffer.from(data));
      await session.memDataErase(slot);
      expect((await session.memDataRead(slot)).length).toBe(0);
    });
  }
  test('round trip at the FW-dependent maximum slot size', spec(`${UAPI} Table 24 (DATA 1 - 475); version 1.4.0 (444 -> 475 bytes)`), async ({ session, target }) => {
    const max = target.identity.userDataSlotSize;
    const data = bytesOf(max);
    const r = await session.l3Raw(Uint8Array.of(L3_CMD.R_MEM_DATA_WRITE, ...u16le(20), 0, ...data));
    if (max === 475 && (await knownFinding(target, 'ts-tvl-r-mem-444-bytes', () => expect(r.result).toBe(L3_RESULT.FAIL)))) return;
    expect(r.result).toBe(L3_RESULT.OK);
    expect(Buffer.from(await session.memDataRead(20))).toEqual(Buffer.from(data));
  });
  test('one byte over the maximum is refused by the driver', spec(`${UAPI} Table 24 (DATA size)`), async ({ session, target }) => {
    await expectArgumentError(session.memDataWrite(new Uint8Array(target.identity.userDataSlotSize + 1), 21), 'data');
  });
  test('one byte over the maximum sent raw answers FAIL', spec(`${UAPI} Table 24 (CMD_SIZE 0x05 - 0x1df)`), async ({ session, target }) => {
    const r = await session.l3Raw(Uint8Array.of(L3_CMD.R_MEM_DATA_WRITE, ...u16le(21), 0, ...new Uint8Array(target.identity.userDataSlotSize + 1)));
    expect(r.result).toBe(L3_RESULT.FAIL);
  });
  test('empty data is refused by the driver', spec(`${UAPI} Table 24 (DATA 1 - 475)`), async ({ session }) => {
    await expectArgumentError(session.memDataWrite(new Uint8Array(0), 22), 'data');
  });
  test('write to a written slot answers SLOT_NOT_EMPTY (WRITE_FAIL)', spec(`${UAPI} Table 24 (SLOT_NOT_EMPTY 0x10)`), async ({ session }) => {
    await session.memDataWrite(Uint8Array.of(1), 23);
    await expectL3(session.memDataWrite(Uint8Array.of(2), 23), 'SLOT_NOT_EMPTY');
    expect(Buffer.from(await session.memDataRead(23)), 'the slot keeps its first content').toEqual(Buffer.from([1]));
  });
  test('slot 512 is refused by the driver', spec(`${UAPI} Table 25 (UDATA_SLOT 0 - 511)`), async ({ session }) => {
    await expectArgumentError(session.memDataRead(512), 'slot');
  });
  test('slot 512 sent raw is not executed', spec(`${UAPI} Table 25 (UDATA_SLOT 0 - 511)`), async ({ session }) => {
    expect((await session.l3Raw(Uint8Array.of(L3_CMD.R_MEM_DATA_READ, ...u16le(512)))).result).not.toBe(L3_RESULT.OK);
  });
  test('erase of an empty slot answers OK', spec(`${UAPI} Table 26`), async ({ session }) => {
    await session.memDataErase(24);
    expect((await session.memDataRead(24)).length).toBe(0);
  });
});

test.describe('monotonic counters', () => {
  for (const index of [0, 15]) {
    test(`counter ${index}: init, update, get`, spec(`${UAPI} Tables 34-36 (MCOUNTER_INDEX 0 - 15)`, 'irreversible'), async ({ session }) => {
      await session.mcounterInit(index, 3);
      await session.mcounterUpdate(index);
      expect(await session.mcounterGet(index)).toBe(2);
    });
  }
  test('update at zero answers UPDATE_ERR', spec(`${UAPI} Table 35 (UPDATE_ERR)`, 'irreversible'), async ({ session }) => {
    await session.mcounterInit(1, 1);
    await session.mcounterUpdate(1);
    expect(await session.mcounterGet(1)).toBe(0);
    await expectL3(session.mcounterUpdate(1), 'UPDATE_ERR');
  });
  test('get of an uninitialized counter answers COUNTER_INVALID', spec(`${UAPI} Table 36 (COUNTER_INVALID)`), async ({ session }) => {
    await expectL3(session.mcounterGet(2), 'COUNTER_INVALID');
  });
  // On a chip whose counter 3 is initialized, the update would count it down for good.
  test('update of an uninitialized counter answers COUNTER_INVALID', spec(`${UAPI} Table 35 (COUNTER_INVALID)`, 'irreversible'), async ({ session }) => {
    await expectL3(session.mcounterUpdate(3), 'COUNTER_INVALID');
  });
  test('init to 0xFFFFFFFE then update decrements', spec(`${UAPI} Table 34 (MCOUNTER_VAL size 4)`, 'irreversible'), async ({ session }) => {
    await session.mcounterInit(4, 0xfffffffe);
    await session.mcounterUpdate(4);
    expect(await session.mcounterGet(4)).toBe(0xfffffffd);
  });
  // A chip that accepted the value would have initialized counter 5 for good.
  test('init to 0xFFFFFFFF answers FAIL', spec(`${UAPI} Table 34`, 'irreversible'), async ({ session }) => {
    await expectL3(session.mcounterInit(5, 0xffffffff), 'FAIL');
  });
  test('re-init overwrites the value', spec(`${UAPI} Table 34`, 'irreversible'), async ({ session }) => {
    await session.mcounterInit(6, 10);
    await session.mcounterInit(6, 20);
    expect(await session.mcounterGet(6)).toBe(20);
  });
  test('counter 16 is refused by the driver', spec(`${UAPI} Table 34 (MCOUNTER_INDEX 0 - 15)`), async ({ session }) => {
    await expectArgumentError(session.mcounterGet(16), 'index');
  });
  test('counter 16 sent raw is not executed', spec(`${UAPI} Table 36`), async ({ session }) => {
    expect((await session.l3Raw(Uint8Array.of(L3_CMD.MCOUNTER_GET, ...u16le(16)))).result).not.toBe(L3_RESULT.OK);
  });
});

test.describe('MAC_And_Destroy', () => {
  for (const slot of [0, 127]) {
    test(`slot ${slot}: returns 32 bytes, deterministic for the same slot state`, spec(`${UAPI} Table 37 (SLOT 0 - 127)`, 'irreversible'), async ({ session, target, transport, harnessConfig, pairingKey }) => {
      // The same slot state twice needs the chip put back: only model targets can be reset.
      test.skip(target.resetMode === 'none', 'a rig cannot be reset to repeat a MAC-and-Destroy slot state');
      const first = await session.macAndDestroy(slot, bytesOf(32));
      expect(first.length).toBe(32);
      // RESET_TARGET on the wire (not the embedded target's in-memory reset): the frame log holds it, so the log replays.
      await transport.resetTarget();
      await session.startSecureSession(harnessConfig.TROPIC_PAIRING_SLOT, pairingKey);
      expect(Buffer.from(await session.macAndDestroy(slot, bytesOf(32))), 'same input, same (fresh) slot state').toEqual(Buffer.from(first));
    });
  }
  test('repeating the same input gives a different output (the slot is destroyed and rewritten)', spec(`${UAPI} Table 37; Datasheet vA.11 (MAC-and-Destroy)`, 'irreversible'), async ({ session }) => {
    const a = await session.macAndDestroy(5, bytesOf(32));
    const b = await session.macAndDestroy(5, bytesOf(32));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
  test('slot 128 is refused by the driver', spec(`${UAPI} Table 37 (SLOT 0 - 127)`), async ({ session }) => {
    await expectArgumentError(session.macAndDestroy(128, new Uint8Array(32)), 'slot');
  });
  // Sent raw, it reaches the chip: a chip that took the slot modulo 128 would consume slot 0.
  test('slot 128 sent raw is not executed', spec(`${UAPI} Table 37`, 'irreversible'), async ({ session }) => {
    expect((await session.l3Raw(Uint8Array.of(L3_CMD.MAC_AND_DESTROY, ...u16le(128), 0, ...new Uint8Array(32)))).result).not.toBe(L3_RESULT.OK);
  });
  test('31-byte input is refused by the driver', spec(`${UAPI} Table 37 (DATA_IN size 32)`), async ({ session }) => {
    await expectArgumentError(session.macAndDestroy(0, new Uint8Array(31)), 'data');
  });
});

test.describe('pairing keys', () => {
  test('slot 0 (the session slot) reads back a 32-byte key', spec(`${UAPI} Table 17`), async ({ session, harnessConfig, pairingKey }) => {
    const { x25519 } = await import('@noble/curves/ed25519');
    const key = await session.pairingKeyRead(harnessConfig.TROPIC_PAIRING_SLOT);
    expect(key.length).toBe(32);
    expect(Buffer.from(key), 'the public key of the pairing key the session was opened with').toEqual(Buffer.from(x25519.getPublicKey(pairingKey)));
  });
  for (const slot of [1, 2, 3]) {
    test(`reading empty slot ${slot} answers SLOT_EMPTY`, spec(`${UAPI} Table 17 (SLOT_EMPTY 0x15)`), async ({ session }) => {
      await expectL3(session.pairingKeyRead(slot), 'SLOT_EMPTY');
    });
  }
  test('slot 4 is refused by the driver', spec(`${UAPI} Table 17 (SLOT 0 - 3)`), async ({ session }) => {
    await expectArgumentError(session.pairingKeyRead(4), 'slot');
  });
  test('slot 4 sent raw is not executed', spec(`${UAPI} Table 17 (SLOT 0 - 3)`), async ({ session }) => {
    expect((await session.l3Raw(Uint8Array.of(L3_CMD.PAIRING_KEY_READ, ...u16le(4)))).result).not.toBe(L3_RESULT.OK);
  });
  test('write slot 1, read it back, handshake on it, invalidate it', spec(`${UAPI} Tables 16-18; 4.1 Table 8`, 'irreversible'), async ({ session, pairingKey }) => {
    const { x25519 } = await import('@noble/curves/ed25519');
    const priv = x25519.utils.randomPrivateKey();
    const pub = x25519.getPublicKey(priv);
    await session.pairingKeyWrite(1, pub);
    expect(Buffer.from(await session.pairingKeyRead(1))).toEqual(Buffer.from(pub));
    await expectL3(session.pairingKeyWrite(1, pub), 'FAIL');
    await session.startSecureSession(1, priv);
    expect((await session.ping(Uint8Array.of(7))).length).toBe(1);
    await session.pairingKeyInvalidate(1);
    await expectL3(session.pairingKeyRead(1), 'SLOT_INVALID');
    await session.startSecureSession(0, pairingKey);
    const r = await session.rawL2(0x02, new Uint8Array(33).fill(1, 32));
    expect(r.status).toBe(0x79); // HSK_ERR on an invalidated slot
  });
  test('invalidating an empty slot answers FAIL', spec(`${UAPI} Table 18`, 'irreversible'), async ({ session }) => {
    await expectL3(session.pairingKeyInvalidate(2), 'FAIL');
  });
  test('a 31-byte pairing key is refused by the driver', spec(`${UAPI} Table 16 (S_HIPUB size 32)`), async ({ session }) => {
    await expectArgumentError(session.pairingKeyWrite(2, new Uint8Array(31)), 'publicKey');
  });
});
