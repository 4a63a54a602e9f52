/**
 * Fault injection inside the embedded model (model/faults.ts), one test per fault, through the
 * real server over loopback: each fault shows on the wire as the datasheet describes the chip's
 * behaviour (or, for the planted result, as the bug it plants), and switching it off restores it.
 */
import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import { ModelServer } from '../model/server.js';
import { parseModelConfig } from '../model/model-config.js';
import { ModelFaults } from '../model/faults.js';
import { TAG } from '../protocol/tagged-frame.js';
import { GET_INFO_OBJECT, L2_REQ, L2_STATUS, STARTUP_ID, decodeResponse, encodeRequest } from '../protocol/l2.js';
import { CHIP_STATUS } from '../protocol/l1.js';
import { L3_CMD, L3_RESULT } from '../protocol/l3.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { DEFAULT_MODEL_CONFIG } from '../paths.js';
import { ConfigError, type HarnessError, type L3ResultError } from '../errors.js';
import { RawClient, getResponse } from './model-raw-client.js';

let server: ModelServer;
let c: RawClient;
test.beforeEach(async () => {
  server = await new ModelServer({ port: 0 }).start();
  c = await RawClient.open(server.port);
});
test.afterEach(async () => {
  c.close();
  await server.close();
});

const fwRequest = () => encodeRequest(L2_REQ.GET_INFO, Uint8Array.of(GET_INFO_OBJECT.RISCV_FW_VERSION, 0));
const read = () => c.window(getResponse());
const frameOf = (back: Uint8Array) => back.slice(1, 1 + back[2] + 4);

test('busyPolls: the next N Get_Response polls answer not-ready, then the response comes', async () => {
  server.faults.set({ busyPolls: 3 });
  await c.window(fwRequest());
  for (let i = 0; i < 3; i++) expect((await read())[0] & CHIP_STATUS.READY).toBe(0);
  const back = await read();
  expect(back[0]).toBe(CHIP_STATUS.READY);
  expect(decodeResponse(frameOf(back)).data).toEqual(Uint8Array.of(0, 0, 0, 2));
  expect(server.faults.settings.busyPolls).toBe(0);
});

test('corruptResponseCrc: every response frame fails its CRC until switched off; Resend_Req then repeats it intact', async () => {
  server.faults.set({ corruptResponseCrc: true });
  await c.window(fwRequest());
  const bad = frameOf(await read());
  expect(() => decodeResponse(bad)).toThrow(expect.objectContaining({ code: 'TH_L2_CRC' }) as never);
  server.faults.set({ corruptResponseCrc: false });
  await c.window(encodeRequest(L2_REQ.RESEND));
  expect(decodeResponse(frameOf(await read())).data).toEqual(Uint8Array.of(0, 0, 0, 2));
});

test('loseResponse: the responses to the next request are lost (NO_RESP); the request after is answered', async () => {
  server.faults.set({ loseResponse: true });
  await c.window(fwRequest());
  expect((await read()).subarray(0, 2)).toEqual(Uint8Array.of(CHIP_STATUS.READY, L2_STATUS.NO_RESP));
  await c.window(fwRequest());
  expect(decodeResponse(frameOf(await read())).status).toBe(L2_STATUS.REQ_OK);
});

test('alarm: CHIP_STATUS carries ALARM, requests are ignored, the driver fails TH_L1_ALARM; off again, the chip answers', async () => {
  server.faults.set({ alarm: true });
  const back = await c.window(fwRequest());
  expect(back[0] & CHIP_STATUS.ALARM).toBe(CHIP_STATUS.ALARM);
  expect((await read())[1]).toBe(L2_STATUS.NO_RESP);
  c.close();
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
  const ts = new TropicSquare(t);
  expect(((await ts.riscvFwVersion().catch((e: unknown) => e)) as HarnessError).code).toBe('TH_L1_ALARM');
  server.faults.set({ alarm: false });
  expect((await ts.riscvFwVersion()).major).toBe(2);
  await t.close();
  c = await RawClient.open(server.port);
});

test('startupMode: CHIP_STATUS carries START, Handshake_Req answers UNKNOWN_REQ; a regular restart ends it', async () => {
  server.faults.set({ startupMode: true });
  const back = await c.window(encodeRequest(L2_REQ.HANDSHAKE, new Uint8Array(33)));
  expect(back[0] & CHIP_STATUS.START).toBe(CHIP_STATUS.START);
  expect(decodeResponse(frameOf(await read())).status).toBe(L2_STATUS.UNKNOWN_REQ);
  await c.window(encodeRequest(L2_REQ.STARTUP, Uint8Array.of(STARTUP_ID.REBOOT)));
  const after = await read();
  expect(after[0] & CHIP_STATUS.START).toBe(0);
  expect(server.faults.settings.startupMode).toBeUndefined();
});

test('delayResponseMs: replies are written late, in order', async () => {
  server.faults.set({ delayResponseMs: 1500 });
  c.sock.write(Buffer.from([TAG.CSN_LOW, 0, 0, TAG.CSN_HIGH, 0, 0]));
  await expect(c.next(300)).rejects.toThrow('no reply');
  expect((await c.next()).tag).toBe(TAG.CSN_LOW);
  expect((await c.next()).tag).toBe(TAG.CSN_HIGH);
  server.faults.set({ delayResponseMs: undefined });
  expect((await c.ask(TAG.CSN_LOW)).tag).toBe(TAG.CSN_LOW);
});

test('exceptionAtFrame: the Nth message from now answers EXCEPTION and rebuilds the chip, once', async () => {
  server.faults.set({ exceptionAtFrame: 3 });
  expect((await c.ask(TAG.CSN_LOW)).tag).toBe(TAG.CSN_LOW);
  expect((await c.ask(TAG.CSN_HIGH)).tag).toBe(TAG.CSN_HIGH);
  expect((await c.ask(TAG.CSN_LOW)).tag).toBe(TAG.EXCEPTION);
  expect((await c.ask(TAG.CSN_LOW)).tag).toBe(TAG.CSN_LOW);
  expect(server.stats.exceptions).toBe(1);
  expect(server.stats.resets).toBe(1);
});

test('resultOverride: the planted result shows on the named command and slot only, and survives RESET_TARGET', async () => {
  const { loadPairingKey } = await import('../config/pairing-key.js');
  const { resolveConfig } = await import('../config/env.js');
  const key = loadPairingKey(resolveConfig({}));
  server.faults.set({ resultOverride: { command: 'R_MEM_DATA_READ', slot: 5, result: 'SLOT_EMPTY' } });
  expect(server.faults.settings.resultOverride).toEqual({ command: L3_CMD.R_MEM_DATA_READ, slot: 5, result: L3_RESULT.SLOT_EMPTY });
  c.close();
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
  const ts = new TropicSquare(t);
  await t.resetTarget();
  await ts.startSecureSession(0, key);
  await ts.memDataWrite(Uint8Array.of(1, 2), 5);
  await ts.memDataWrite(Uint8Array.of(3, 4), 6);
  const e = (await ts.memDataRead(5).catch((x: unknown) => x)) as L3ResultError;
  expect(e.code).toBe('TH_L3_RESULT');
  expect(e.result).toBe(L3_RESULT.SLOT_EMPTY);
  expect(await ts.memDataRead(6)).toEqual(Uint8Array.of(3, 4));
  await t.close();
  c = await RawClient.open(server.port);
});

test('faults from the model configuration: applied at start, restored for each fresh chip; bad faults name the key', async () => {
  const text = readFileSync(DEFAULT_MODEL_CONFIG, 'utf8') + 'faults:\n  busyPolls: 2\n  resultOverride: { command: ECC_KEY_READ, slot: 3, result: 0x12 }\n';
  const cfg = parseModelConfig(text, DEFAULT_MODEL_CONFIG);
  const s = await new ModelServer({ port: 0, config: cfg }).start();
  expect(s.faults.settings).toEqual({ busyPolls: 2, resultOverride: { command: L3_CMD.ECC_KEY_READ, slot: 3, result: 0x12 } });
  s.faults.clear().set({ alarm: true });
  s.freshChip('next test');
  expect(s.faults.settings).toEqual({ busyPolls: 2, resultOverride: { command: L3_CMD.ECC_KEY_READ, slot: 3, result: 0x12 } });
  await s.close();
  const bad = readFileSync(DEFAULT_MODEL_CONFIG, 'utf8') + 'faults:\n  resultOverride: { command: NO_SUCH_CMD, result: OK }\n  busyPoll: 1\n';
  const err = (() => {
    try {
      parseModelConfig(bad, DEFAULT_MODEL_CONFIG);
    } catch (x) {
      return x as ConfigError;
    }
  })();
  expect(err).toBeInstanceOf(ConfigError);
  expect(err!.message).toContain('faults.resultOverride.command');
  expect(err!.message).toContain('NO_SUCH_CMD');
  expect(err!.message).toContain('busyPoll');
  expect(() => new ModelFaults().set({ busyPolls: -1 })).toThrow(/faults\.busyPolls/);
});
