/**
 * The model's SPI state across clients, power cycles and malformed L2 data: a dropped client does
 * not leave its half-read response to the next one, POWER_OFF starts the SPI bus over, and bytes a
 * host may clock in (short frames, a request while a response is unread) are answered at L2 as
 * the datasheet describes, never with the internal-error path (EXCEPTION and a rebuilt chip).
 */
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import { ModelServer } from '../model/server.js';
import { TAG, encodeFrame } from '../protocol/tagged-frame.js';
import { GET_INFO_OBJECT, L2_REQ, L2_STATUS, decodeResponse, encodeRequest } from '../protocol/l2.js';
import { CHIP_STATUS } from '../protocol/l1.js';
import { RawClient, getResponse } from './model-raw-client.js';

let server: ModelServer;
test.beforeEach(async () => {
  server = await new ModelServer({ port: 0 }).start();
});
test.afterEach(async () => server.close());

const chipIdRequest = () => encodeRequest(L2_REQ.GET_INFO, Uint8Array.of(GET_INFO_OBJECT.CHIP_ID, 0));
const fwRequest = () => encodeRequest(L2_REQ.GET_INFO, Uint8Array.of(GET_INFO_OBJECT.RISCV_FW_VERSION, 0));
/** Read one response in a fresh chip-select window: [CHIP_STATUS, frame...]. */
const readResponse = async (c: RawClient) => c.window(getResponse());
const frameOf = (back: Uint8Array) => decodeResponse(back.slice(1, 1 + back[2] + 4));

test('a client that drops with chip select low and a response half-read leaves the next client no tail of it', async () => {
  const c1 = await RawClient.open(server.port);
  await c1.window(chipIdRequest());
  await c1.ask(TAG.CSN_LOW);
  const head = (await c1.ask(TAG.SPI_SEND, getResponse(5))).payload; // CHIP_STATUS, STATUS, RSP_LEN, 2 data bytes
  expect(head[1]).toBe(L2_STATUS.REQ_OK);
  c1.close(); // chip select still low, 127 response bytes unread

  const c2 = await RawClient.open(server.port);
  const back = await readResponse(c2);
  expect(back[0]).toBe(CHIP_STATUS.READY);
  expect(back[1]).toBe(L2_STATUS.NO_RESP);
  expect(server.stats.droppedResponses).toBe(1);
  // the chip still works for the new client
  await c2.window(fwRequest());
  expect(frameOf(await readResponse(c2)).data).toEqual(Uint8Array.of(0, 0, 0, 2));
  c2.close();
});

test('a response nobody started to read survives a disconnect whole (like a chip not polled)', async () => {
  const c1 = await RawClient.open(server.port);
  await c1.window(fwRequest());
  c1.close();
  const c2 = await RawClient.open(server.port);
  const r = frameOf(await readResponse(c2));
  expect(r.status).toBe(L2_STATUS.REQ_OK);
  expect(r.data).toEqual(Uint8Array.of(0, 0, 0, 2));
  expect(server.stats.droppedResponses).toBe(0);
  c2.close();
});

test('after POWER_OFF and POWER_ON with chip select held low, the next CSN_LOW starts a transaction', async () => {
  const c = await RawClient.open(server.port);
  await c.ask(TAG.CSN_LOW);
  await c.ask(TAG.POWER_OFF);
  await c.ask(TAG.POWER_ON);
  await c.ask(TAG.CSN_LOW);
  const back = (await c.ask(TAG.SPI_SEND, getResponse(3))).payload;
  expect(back).toEqual(Uint8Array.of(CHIP_STATUS.READY, L2_STATUS.NO_RESP, L2_STATUS.NO_RESP));
  c.close();
});

test('L2 requests of 1 to 3 bytes are answered CRC_ERR, not with an internal error', async () => {
  const c = await RawClient.open(server.port);
  for (const bytes of [Uint8Array.of(0x01), Uint8Array.of(0x01, 0x00), Uint8Array.of(0x04, 0x00, 0x00)]) {
    const back = await c.window(bytes);
    expect(back.length).toBe(bytes.length);
    expect(back[0] & CHIP_STATUS.READY).toBe(0); // busy processing
    expect(frameOf(await readResponse(c)).status).toBe(L2_STATUS.CRC_ERR);
  }
  expect(server.stats.exceptions).toBe(0);
  expect(server.stats.resets).toBe(0);
  c.close();
});

test('a new request while a response is unread replaces it (datasheet 7.3.3)', async () => {
  const c = await RawClient.open(server.port);
  // never read
  await c.window(fwRequest());
  await c.window(chipIdRequest());
  expect(frameOf(await readResponse(c)).data.length).toBe(128);
  // half read
  await c.window(chipIdRequest());
  await c.window(getResponse(10));
  await c.window(fwRequest());
  expect(frameOf(await readResponse(c)).data).toEqual(Uint8Array.of(0, 0, 0, 2));
  expect(await readResponse(c)).toEqual(Uint8Array.of(CHIP_STATUS.READY, ...new Array(256).fill(L2_STATUS.NO_RESP)));
  expect(server.stats.exceptions).toBe(0);
  c.close();
});

test('Resend_Req after a half-read response repeats the whole response', async () => {
  const c = await RawClient.open(server.port);
  await c.window(fwRequest());
  await c.window(getResponse(4));
  await c.window(encodeRequest(L2_REQ.RESEND));
  const r = frameOf(await readResponse(c));
  expect(r.status).toBe(L2_STATUS.REQ_OK);
  expect(r.data).toEqual(Uint8Array.of(0, 0, 0, 2));
  c.close();
});

// ---- fuzzing: valid tagged framing, random SPI data ---------------------------------------------

const L2_IDS = Object.values(L2_REQ).filter((id) => id !== L2_REQ.GET_RESPONSE);
const spiPayload = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 257 }),
  fc.tuple(fc.oneof(fc.constantFrom(...L2_IDS), fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 60 }), fc.boolean()).map(([id, data, corrupt]) => {
    const f = encodeRequest(id, data);
    if (corrupt) f[f.length - 1] ^= 0x5a;
    return f;
  }),
  fc.integer({ min: 1, max: 257 }).map((n) => getResponse(n)),
);
const message = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ tag: TAG.CSN_LOW as number, payload: new Uint8Array(0) }) },
  { weight: 2, arbitrary: fc.constant({ tag: TAG.CSN_HIGH as number, payload: new Uint8Array(0) }) },
  { weight: 6, arbitrary: spiPayload.map((payload) => ({ tag: TAG.SPI_SEND as number, payload })) },
  { weight: 1, arbitrary: fc.constantFrom(TAG.POWER_ON, TAG.POWER_OFF, TAG.RESET_TARGET).map((tag) => ({ tag: tag as number, payload: new Uint8Array(0) })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((payload) => ({ tag: TAG.WAIT as number, payload })) },
);

test('property: random SPI data in valid tagged frames is answered per protocol with no internal error', async () => {
  test.setTimeout(180_000); // a few thousand round trips on a shared machine
  const c = await RawClient.open(server.port);
  let messages = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 40 }), async (msgs) => {
      c.sock.write(Buffer.concat(msgs.map((m) => encodeFrame(m.tag, m.payload))));
      for (const m of msgs) {
        const r = await c.next();
        messages++;
        expect(r.tag).toBe(m.tag);
        if (m.tag === TAG.SPI_SEND) expect([0, m.payload.length]).toContain(r.payload.length);
        else expect(r.payload.length).toBe(0);
      }
      expect(server.stats.exceptions).toBe(0);
    }),
    { numRuns: 600, seed: 20260214 },
  );
  test.info().annotations.push({ type: 'fuzz', description: `${messages} tagged messages, ${server.stats.exceptions} exceptions` });
  console.log(`model SPI fuzz: ${messages} tagged messages, ${server.stats.exceptions} exceptions`);
  expect(messages).toBeGreaterThan(1000);
  expect(server.stats.exceptions).toBe(0);
  c.close();
});
