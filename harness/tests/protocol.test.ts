/** Protocol codecs: CRC vectors, L2 frames, handshake key derivation vector, config objects, cert store, chip ID, TMAC. */
import { test, expect } from '@playwright/test';
import { crc16, crcBytes } from '../protocol/crc16.js';
import { encodeRequest, decodeResponse, encodeResponse, L2_REQ, L2_STATUS } from '../protocol/l2.js';
import { deriveSession, x25519Public, x25519Shared, SessionCipher } from '../protocol/session.js';
import { CONFIG_REGISTERS, decodeRegister, encodeRegister, register } from '../protocol/config-objects.js';
import { encodeCertStore, decodeCertStore } from '../protocol/cert-store.js';
import { encodeChipId, decodeChipId } from '../protocol/chip-id.js';
import { encode, decode } from '../protocol/l3.js';
import { tmac } from '../model/tmac.js';
import { ProtocolError, ArgumentError } from '../errors.js';
import { hex, fromHex } from '../bytes.js';

test('CRC-16 (poly 0x8005, init 0) matches the catalogued check value of "123456789"', () => {
  expect(crc16(new TextEncoder().encode('123456789'))).toBe(0xfee8);
  expect(crc16(new Uint8Array(0))).toBe(0);
  expect(hex(crcBytes(new TextEncoder().encode('123456789')))).toBe('e8fe'); // low byte first on the wire
});

test('L2 request frame: Get_Info CHIP_ID encodes with REQ_LEN and CRC', () => {
  const f = encodeRequest(L2_REQ.GET_INFO, Uint8Array.of(1, 0));
  expect(hex(f.subarray(0, 4))).toBe('01020100');
  expect(crc16(f.subarray(0, 4))).toBe(f[4] | (f[5] << 8));
  expect(hex(encodeRequest(0x01, Uint8Array.of(1, 0), { crc: 0x1234 }).subarray(4))).toBe('3412');
  expect(encodeRequest(0x01, Uint8Array.of(1, 0), { length: 9 })[1]).toBe(9);
});

test('L2 response decode checks length and CRC with coded errors', () => {
  const ok = encodeResponse(L2_STATUS.REQ_OK, Uint8Array.of(9, 8, 7));
  expect(decodeResponse(ok).data).toEqual(Uint8Array.of(9, 8, 7));
  const bad = Uint8Array.from(ok);
  bad[bad.length - 1] ^= 1;
  expect(() => decodeResponse(bad)).toThrow(ProtocolError);
  try {
    decodeResponse(bad);
  } catch (e) {
    expect((e as ProtocolError).code).toBe('TH_L2_CRC');
  }
  expect(() => decodeResponse(ok.subarray(0, 3))).toThrow(/too short/);
  expect(() => decodeResponse(ok.subarray(0, 5))).toThrow(/length mismatch/);
});

test('handshake key derivation matches the vector measured on ts-tvl 2.2', () => {
  // Inputs chosen here; expected values computed by running ts-tvl's session code on them.
  const st = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  const sh = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
  const eh = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
  const et = Uint8Array.from({ length: 32 }, (_, i) => 0xc0 ^ i);
  const etPub = x25519Public(et);
  expect(hex(etPub)).toBe('dc2cca31e8e43bbd91dff7e475cca3347eb478107d5bd765aba4ae4a30c35d44');
  const keys = deriveSession({
    pairingSlot: 2, shPub: x25519Public(sh), stPub: x25519Public(st), ehPub: x25519Public(eh), etPub,
    ehEt: x25519Shared(eh, etPub), shEt: x25519Shared(sh, etPub), ehSt: x25519Shared(eh, x25519Public(st)),
  });
  expect(hex(keys.tAuth)).toBe('5fc54fa5dec4b464758a8ff1c465b195');
  expect(hex(keys.handshakeHash)).toBe('08c55231faa18a47a67f8e4b586d47d328a4a6653c1f30dbc8432d4f7a248e08');
  expect(hex(keys.kCmd)).toBe('c5b22db48dcb46050a1ff09162da08492aeec4cc45e2055e3106b18bb3e92e66');
  expect(hex(keys.kRes)).toBe('f05929b8a5430e0aca2e348a6a5682ebe3f33ee4d377664db165b86f6d4b33d8');
  // both sides of the channel agree and nonces advance per message
  const host = new SessionCipher(keys);
  const chip = new SessionCipher(keys);
  for (let i = 0; i < 3; i++) expect(chip.openCommand(host.sealCommand(Uint8Array.of(i)))).toEqual(Uint8Array.of(i));
  expect(chip.openCommand(host.sealCommand(Uint8Array.of(1)).map((b, i) => (i === 0 ? b ^ 1 : b)))).toBeUndefined();
});

test('TMAC matches vectors measured on ts-tvl 2.2', () => {
  expect(hex(tmac(Uint8Array.from({ length: 32 }, (_, i) => i), new TextEncoder().encode('hello world'.repeat(5)), Uint8Array.of(0x0b)))).toBe('ff078ad718ef76855f92886fb2fd62807aac643b1fbb6e06d8c663e04b36ef3a');
  expect(hex(tmac(new Uint8Array(0), new Uint8Array(0), Uint8Array.of(0x0a)))).toBe('b49dfaa6982fafb09c724dedff40c38f11df5d0a64afaed209fed70064c06e3c');
});

test('every configuration object round-trips through its named fields', () => {
  for (const r of CONFIG_REGISTERS) {
    for (const v of [0, 0xffffffff, 0xa5a5a5a5, r.reset]) {
      const fields = decodeRegister(r, v);
      const mask = encodeRegister(r, Object.fromEntries(r.fields.map((f) => [f.name, 2 ** f.width - 1])), 0);
      expect(encodeRegister(r, fields, 0)).toBe((v & mask) >>> 0);
    }
  }
  expect(decodeRegister(register('CFG_UAP_PING'), 0xfe).PING).toBe(0xfe);
  expect(() => encodeRegister(register('CFG_UAP_PING'), { NOPE: 1 })).toThrow(/CFG_UAP_PING.NOPE/);
  expect(() => encodeRegister(register('CFG_UAP_PING'), { PING: 256 })).toThrow(/does not fit 8 bits/);
  expect(() => register('CFG_BOGUS')).toThrow(/"CFG_BOGUS"/);
});

test('certificate store header round-trips and rejects a truncated store', () => {
  const certs = [Uint8Array.of(0x30, 3, 1, 2, 3), Uint8Array.of(0x30, 1, 9)];
  const blob = encodeCertStore(certs);
  expect(hex(blob.subarray(0, 6))).toBe('010200050003');
  expect(decodeCertStore(blob).certificates).toEqual(certs);
  expect(() => decodeCertStore(blob.subarray(0, 8))).toThrow(/runs past/);
});

test('CHIP_ID encodes and decodes its named fields', () => {
  const raw = encodeChipId({ siliconRev: 'ACAB', partNumber: 'TR01-TEST', serialNumber: { sn: 5, waferId: 3, xCoord: 300, yCoord: 2 } });
  const id = decodeChipId(raw);
  expect(id.siliconRev).toBe('ACAB');
  expect(id.partNumber).toBe('TR01-TEST');
  expect(id.serialNumber.sn).toBe(5);
  expect(id.serialNumber.xCoord).toBe(300);
  expect(id.serial).toHaveLength(32);
});

test('L3 encoders refuse bad arguments naming the argument and the range', () => {
  expect(() => encode.eccKeyGenerate(32, 'P256')).toThrow(ArgumentError);
  expect(() => encode.eccKeyGenerate(32, 'P256')).toThrow('slot: 32 is out of range; allowed 0..31');
  expect(() => encode.ping(new Uint8Array(4097))).toThrow('data: length 4097 bytes is out of range; allowed 0..4096 bytes');
  expect(() => encode.eccKeyGenerate(0, 'P384' as 'P256')).toThrow(/curve/);
  expect(hex(encode.rConfigWrite(0x100, 0x11223344))).toBe('2000010044332211');
  expect(decode.eccKeyRead(Uint8Array.of(2, 1, ...new Uint8Array(13), ...new Uint8Array(32).fill(7))).curve).toBe('ED25519');
  expect(() => decode.signature(new Uint8Array(10))).toThrow(/expected 79/);
  expect(fromHex('0a0B')).toEqual(Uint8Array.of(10, 11));
});
