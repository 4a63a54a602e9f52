/** L2 request/response frames: lengths, CRC, unknown requests, Get_Info, Resend, Sleep, Startup, Get_Log. */
import { x25519 } from '@noble/curves/ed25519';
import { test, expect, spec, knownFinding } from '../fixtures/index.js';
import { GET_INFO_OBJECT, L2_REQ, L2_REQ_LEN, L2_STATUS, CERT_BLOCKS, encodeRequest, requestName } from '../harness/protocol/l2.js';
import { crc16 } from '../harness/protocol/crc16.js';
import { decodeCertStore, chipPublicKey, parseCertificate } from '../harness/protocol/cert-store.js';
import { decodeChipId } from '../harness/protocol/chip-id.js';
import { register } from '../harness/protocol/config-objects.js';
import { TransportTagError } from '../harness/errors.js';
import { expectStatus, expectL2Error, applyRConfig, failHereWhenInjecting } from './helpers.js';

const UAPI = 'User API v1.4.0';
const DS = 'Datasheet vA.11';

/** A valid payload for each fixed-length request (used for the wrong-length and wrong-CRC specs). */
const VALID: Record<number, Uint8Array> = {
  [L2_REQ.GET_INFO]: Uint8Array.of(GET_INFO_OBJECT.CHIP_ID, 0),
  // a valid ephemeral key for slot 0 (an all-zero key is a separate spec)
  [L2_REQ.HANDSHAKE]: Uint8Array.of(...x25519.getPublicKey(x25519.utils.randomPrivateKey()), 0),
  [L2_REQ.ENCRYPTED_SESSION_ABT]: new Uint8Array(0),
  [L2_REQ.RESEND]: new Uint8Array(0),
  [L2_REQ.SLEEP]: Uint8Array.of(0x05),
  [L2_REQ.STARTUP]: Uint8Array.of(0x01),
  [L2_REQ.GET_LOG]: new Uint8Array(0),
};

test.describe('L2 frame integrity', () => {
  for (const n of [1, 2, 3]) {
    test(`a ${n}-byte request (no room for its CRC) is answered CRC_ERR`, spec(`${DS} 7.3.3 (L2 Request frame: REQ_ID, REQ_LEN, data, CRC)`), async ({ tropic, target }) => {
      const bytes = Uint8Array.of(L2_REQ.GET_INFO, 0x02, GET_INFO_OBJECT.CHIP_ID).subarray(0, n);
      const sent = await tropic.rawTransfer(bytes).catch((x: unknown) => x);
      const internalError = await knownFinding(target, 'ts-tvl-short-l2-request', () => {
        expect(sent).toBeInstanceOf(TransportTagError);
        expect((sent as TransportTagError).code).toBe('TH_TCP_EXCEPTION');
      });
      if (internalError) return;
      if (sent instanceof Error) throw sent;
      expectStatus(await tropic.link.receive(), 'CRC_ERR');
    });
  }
  for (const [idText, payload] of Object.entries(VALID)) {
    const id = Number(idText);
    const name = requestName(id);
    test(`${name}: wrong CRC is answered CRC_ERR`, spec(`${DS} 7.3.3 (Cyclic Redundancy Check); ${UAPI} 4.1`), async ({ tropic }) => {
      const good = crc16(encodeRequest(id, payload).subarray(0, payload.length + 2));
      const r = await tropic.rawL2(id, payload, { crc: good ^ 0x0101 });
      expectStatus(r, 'CRC_ERR');
    });
    const len = L2_REQ_LEN[id];
    for (const delta of [-1, +1]) {
      const bad = len + delta;
      if (bad < 0) continue;
      test(`${name}: REQ_LEN ${bad} instead of ${len} is rejected`, spec(`${UAPI} 4.1 (${name} REQ_LEN=0x${len.toString(16)})`), async ({ tropic }) => {
        const data = new Uint8Array(bad);
        data.set(payload.subarray(0, bad));
        const r = await tropic.rawL2(id, data);
        expect(r.status, 'a request of the wrong length must not be executed').not.toBe(L2_STATUS.REQ_OK);
        expectStatus(r, 'CRC_ERR');
      });
    }
    test(`${name}: REQ_LEN disagreeing with the data sent is rejected`, spec(`${DS} 7.3.3 (L2 Request frame: REQ_LEN)`), async ({ tropic, target }) => {
      const r = await tropic.rawL2(id, payload, { length: payload.length + 1 });
      // Where REQ_LEN is ignored the request runs as a well-formed one: no CRC_ERR, and the status
      // the same request answers with the right REQ_LEN in the same state.
      const ignored = await knownFinding(target, 'ts-tvl-ignores-req-len', async () => {
        expect(r.status, 'REQ_LEN ignored: no CRC_ERR').not.toBe(L2_STATUS.CRC_ERR);
        expect(r.status, 'answered as the well-formed request').toBe((await tropic.rawL2(id, payload)).status);
      });
      if (!ignored) expectStatus(r, 'CRC_ERR');
    });
  }

  for (const id of [0x00, 0x03, 0x05, 0x11, 0x7f, 0xa0, 0xab, 0xff]) {
    test(`unknown REQ_ID 0x${id.toString(16).padStart(2, '0')} is answered UNKNOWN_REQ`, spec(`${DS} 7.3.3 Table 11 (UNKNOWN_REQ)`), async ({ tropic }) => {
      expectStatus(await tropic.rawL2(id, new Uint8Array(0)), 'UNKNOWN_REQ');
    });
  }

  test('Encrypted_Cmd_Req with no data is rejected', spec(`${UAPI} 4.1 Table 9 (REQ_LEN 0x01-0xfc)`), async ({ tropic }) => {
    const r = await tropic.rawL2(L2_REQ.ENCRYPTED_CMD, new Uint8Array(0));
    expect(r.status).not.toBe(L2_STATUS.REQ_OK);
  });
});

test.describe('Get_Info_Req', () => {
  for (let block = 0; block < CERT_BLOCKS; block++) {
    test(`X.509 certificate store block ${block} is 128 bytes`, spec(`${UAPI} 4.1 Table 7 (X509_CERTIFICATE, BLOCK_INDEX ${block})`), async ({ tropic }) => {
      const data = await tropic.getInfo(GET_INFO_OBJECT.X509_CERTIFICATE, block);
      expect(data.length).toBe(128);
    });
  }
  for (const block of [30, 31, 0x80, 0xff]) {
    test(`X.509 block ${block} (out of range) is refused`, spec(`${UAPI} 4.1 Table 7 (BLOCK_INDEX 0 - 29)`), async ({ tropic }) => {
      await expectL2Error(tropic.getInfo(GET_INFO_OBJECT.X509_CERTIFICATE, block), 'GEN_ERR');
    });
  }
  test('certificate store parses and its device key is X25519', spec(`${UAPI} 4.1 Table 7; ${DS} 7.4 (STPUB in the device certificate)`), async ({ tropic }) => {
    const store = await tropic.certificateStore();
    expect(store.certificates.length).toBeGreaterThanOrEqual(1);
    expect(chipPublicKey(store)).toHaveLength(32);
    for (const der of store.certificates) expect(parseCertificate(der).subject.length).toBeGreaterThan(0);
  });
  test('certificate chain signatures verify (device up to root)', spec(`${DS} 7.4 (certificate chain)`), async ({ tropic, target }) => {
    const store = await tropic.certificateStore();
    // A model may be configured with the device certificate alone; a real chip carries its chain.
    test.skip(store.certificates.length < 2 && target.kind !== 'rig', `the ${target.kind} target's certificate store holds ${store.certificates.length} certificate(s): no chain to verify`);
    expect(store.certificates.length, 'a chip carries its certificate chain').toBeGreaterThanOrEqual(2);
    const certs = store.certificates.map(parseCertificate);
    for (let i = 0; i < certs.length - 1; i++) expect(await certs[i].verify({ publicKey: certs[i + 1].publicKey, signatureOnly: true })).toBe(true);
    const root = certs[certs.length - 1];
    expect(await root.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
  });
  test('all 30 blocks together hold the same store the driver parses', spec(`${UAPI} 4.1 Table 7 (object size 3840B)`), async ({ tropic }) => {
    const blocks: Uint8Array[] = [];
    for (let b = 0; b < CERT_BLOCKS; b++) blocks.push(await tropic.getInfo(GET_INFO_OBJECT.X509_CERTIFICATE, b));
    const joined = new Uint8Array(Buffer.concat(blocks));
    expect(joined.length).toBe(3840);
    const parsed = decodeCertStore(joined);
    const viaDriver = await tropic.certificateStore();
    expect(parsed.certificates.map((c) => Buffer.from(c).toString('hex'))).toEqual(viaDriver.certificates.map((c) => Buffer.from(c).toString('hex')));
  });
  test('CHIP_ID is 128 bytes and decodes', spec(`${UAPI} 4.1 Table 7 (CHIP_ID, object size 128B)`), async ({ tropic }) => {
    const raw = await tropic.getInfo(GET_INFO_OBJECT.CHIP_ID);
    expect(raw.length).toBe(128);
    const id = decodeChipId(raw);
    expect(id.serial).toMatch(/^[0-9a-f]{32}$/);
  });
  test('CHIP_ID ignores BLOCK_INDEX', spec(`${UAPI} 4.1 Table 7 (CHIP_ID: BLOCK_INDEX do not care)`), async ({ tropic }) => {
    expect(Buffer.from(await tropic.getInfo(GET_INFO_OBJECT.CHIP_ID, 7))).toEqual(Buffer.from(await tropic.getInfo(GET_INFO_OBJECT.CHIP_ID, 0)));
  });
  for (const [name, obj] of [['RISCV_FW_VERSION', GET_INFO_OBJECT.RISCV_FW_VERSION], ['SPECT_FW_VERSION', GET_INFO_OBJECT.SPECT_FW_VERSION]] as const) {
    test(`${name} is 4 bytes`, spec(`${UAPI} 4.1 Table 7 (${name}, object size 4B)`), async ({ tropic }) => {
      expect((await tropic.getInfo(obj)).length).toBe(4);
    });
  }
  for (const obj of [0x03, 0x05, 0xb0, 0xff]) {
    test(`Get_Info object 0x${obj.toString(16)} (not an application object) is refused`, spec(`${UAPI} 4.1 Table 7 (OBJECT_ID values)`), async ({ tropic }) => {
      await expectL2Error(tropic.getInfo(obj), 'GEN_ERR');
    });
  }
});

test.describe('Resend_Req', () => {
  test('after a good response returns the same frame again', spec(`${UAPI} 4.1 Table 11; ${DS} 7.3.3`), async ({ tropic }) => {
    const first = await tropic.rawL2(L2_REQ.GET_INFO, Uint8Array.of(GET_INFO_OBJECT.CHIP_ID, 0));
    const again = await tropic.resend();
    expect(Buffer.from(again.frame)).toEqual(Buffer.from(first.frame));
  });
  test('after a CRC_ERR response repeats the CRC_ERR response', spec(`${UAPI} 4.1 Table 11; ${DS} 7.3.3 (CRC mismatch: Resend_Req)`), async ({ tropic }) => {
    const bad = await tropic.rawL2(L2_REQ.GET_INFO, Uint8Array.of(1, 0), { crc: 0 });
    expectStatus(bad, 'CRC_ERR');
    expectStatus(await tropic.resend(), 'CRC_ERR');
  });
  test('a corrupted response read is recovered by Resend_Req', spec(`${DS} 7.3.3 (RSP_CRC != calculated CRC: Resend_Req)`), async ({ tropic }) => {
    const good = await tropic.rawL2(L2_REQ.GET_INFO, Uint8Array.of(GET_INFO_OBJECT.RISCV_FW_VERSION, 0));
    // the host saw a corrupted copy (simulated by discarding it) and asks again, twice
    const r1 = await tropic.resend();
    const r2 = await tropic.resend();
    expect(Buffer.from(r1.data)).toEqual(Buffer.from(good.data));
    expect(Buffer.from(r2.data)).toEqual(Buffer.from(good.data));
  });
});

test.describe('Sleep_Req and Startup_Req', () => {
  test('Sleep_Req (SLEEP_MODE) answers REQ_OK and ends the session', spec(`${UAPI} 4.1 Table 12`), async ({ session }) => {
    await session.sleep();
    expect(session.hasSession).toBe(false);
    await expectL2Error(session.l2(L2_REQ.ENCRYPTED_CMD, new Uint8Array(20)), 'NO_SESSION');
  });
  test('Sleep_Req with an unknown SLEEP_KIND is refused', spec(`${UAPI} 4.1 Table 12 (SLEEP_KIND: SLEEP_MODE 0x05)`), async ({ tropic }) => {
    const r = await tropic.rawL2(L2_REQ.SLEEP, Uint8Array.of(0x0a));
    expect(r.status).not.toBe(L2_STATUS.REQ_OK);
  });
  test('Sleep_Req when CFG_SLEEP_MODE disables sleep answers RESP_DISABLED', spec(`${UAPI} 5.2 (CFG_SLEEP_MODE @0x18); ${DS} 7.3.3 Table 11`), async ({ session, harnessConfig, pairingKey, target }) => {
    expect(register('CFG_SLEEP_MODE').address).toBe(0x18);
    await applyRConfig(session, harnessConfig.TROPIC_PAIRING_SLOT, pairingKey, { CFG_SLEEP_MODE: 0xfffffffe });
    const r = await session.rawL2(L2_REQ.SLEEP, Uint8Array.of(0x05));
    if (!(await knownFinding(target, 'ts-tvl-cfg-sleep-mode-address', () => expectStatus(r, 'REQ_OK')))) expectStatus(r, 'RESP_DISABLED');
  });
  for (const [mode, name] of [[0x01, 'REBOOT'], [0x03, 'MAINTENANCE_REBOOT']] as const) {
    test(`Startup_Req ${name} answers REQ_OK and ends the session`, spec(`${UAPI} 4.1 Table 13 (STARTUP_ID ${name})`), async ({ session }) => {
      await session.reboot(mode);
      await expectL2Error(session.l2(L2_REQ.ENCRYPTED_CMD, new Uint8Array(20)), 'NO_SESSION');
    });
  }
  test('Startup_Req with an unknown STARTUP_ID is refused', spec(`${UAPI} 4.1 Table 13 (STARTUP_ID values)`), async ({ tropic }) => {
    expect((await tropic.rawL2(L2_REQ.STARTUP, Uint8Array.of(0x02))).status).not.toBe(L2_STATUS.REQ_OK);
  });
  test('Get_Log_Req answers REQ_OK with at most 252 bytes', spec(`${UAPI} 4.1 Table 14`), async ({ tropic }) => {
    expect((await tropic.getLog()).length).toBeLessThanOrEqual(252);
  });
  test('Get_Log_Req with FW logging disabled in CFG_DEBUG answers RESP_DISABLED', spec(`${UAPI} 4.1 Table 14 (CFG_DEBUG[FW_LOG_EN])`), async ({ session, harnessConfig, pairingKey, target }) => {
    await applyRConfig(session, harnessConfig.TROPIC_PAIRING_SLOT, pairingKey, { CFG_DEBUG: 0xfffffffe });
    failHereWhenInjecting('R-config disabling FW logging was made effective');
    const r = await session.rawL2(L2_REQ.GET_LOG);
    if (!(await knownFinding(target, 'ts-tvl-get-log-when-disabled', () => expectStatus(r, 'REQ_OK')))) expectStatus(r, 'RESP_DISABLED');
  });
});
