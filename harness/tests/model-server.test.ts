/**
 * The embedded model server over real loopback TCP: ts-tvl's observable behaviours, sturdiness
 * where ts-tvl breaks, and property-based tests (fast-check) that throw random tagged messages and
 * random L2 frames at it: it always answers per the protocol and never dies.
 */
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import { ModelServer } from '../model/server.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { MODEL_SERVER_MAX_PAYLOAD, TAG, encodeFrame } from '../protocol/tagged-frame.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { RawClient } from './model-raw-client.js';
import { L2_STATUS, decodeResponse, encodeRequest } from '../protocol/l2.js';
import { loadModelConfig, parseModelConfig } from '../model/model-config.js';
import { ConfigError, TransportTagError } from '../errors.js';

test.describe('model server protocol', () => {
  let server: ModelServer;
  test.beforeEach(async () => {
    server = await new ModelServer({ port: 0 }).start();
  });
  test.afterEach(async () => server.close());

  test('reply tags echo requests; WAIT ignores its payload; unknown tags get INVALID', async () => {
    const c = await RawClient.open(server.port);
    for (const tag of [TAG.CSN_LOW, TAG.CSN_HIGH, TAG.POWER_ON, TAG.POWER_OFF]) expect((await c.ask(tag)).tag).toBe(tag);
    expect(await c.ask(TAG.WAIT, Uint8Array.of(1, 2, 3, 4, 5, 6))).toEqual({ tag: TAG.WAIT, payload: new Uint8Array(0) });
    expect((await c.ask(0x42)).tag).toBe(TAG.INVALID);
    expect((await c.ask(TAG.UNSUPPORTED)).tag).toBe(TAG.UNSUPPORTED);
    c.close();
  });

  test('SPI_SEND answers as many bytes as sent, none while chip select is high', async () => {
    const c = await RawClient.open(server.port);
    expect((await c.ask(TAG.SPI_SEND, Uint8Array.of(0xaa, 0, 0))).payload.length).toBe(0);
    await c.ask(TAG.CSN_LOW);
    expect((await c.ask(TAG.SPI_SEND, Uint8Array.of(0xaa, 0, 0))).payload).toEqual(Uint8Array.of(1, 0xff, 0xff));
    c.close();
  });

  test('a header split across writes and two frames in one write are both served', async () => {
    const c = await RawClient.open(server.port);
    const f = encodeFrame(TAG.CSN_LOW);
    c.sock.write(f.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 30));
    c.sock.write(f.subarray(1));
    expect((await c.next()).tag).toBe(TAG.CSN_LOW);
    c.sock.write(new Uint8Array([...encodeFrame(TAG.CSN_HIGH), ...encodeFrame(TAG.WAIT, Uint8Array.of(0, 0, 0, 0))]));
    expect((await c.next()).tag).toBe(TAG.CSN_HIGH);
    expect((await c.next()).tag).toBe(TAG.WAIT);
    c.close();
  });

  test('a client that disconnects mid-frame is dropped; the next client is served', async () => {
    const c = await RawClient.open(server.port);
    c.sock.write(Uint8Array.of(TAG.SPI_SEND, 10, 0, 1, 2));
    await new Promise((r) => setTimeout(r, 30));
    c.close();
    const d = await RawClient.open(server.port);
    expect((await d.ask(TAG.CSN_HIGH)).tag).toBe(TAG.CSN_HIGH);
    expect(server.stats.protocolErrors).toBe(1);
    d.close();
  });

  test('an oversize length is drained and answered EXCEPTION; the link stays in sync', async () => {
    const c = await RawClient.open(server.port);
    c.sock.write(encodeFrame(TAG.SPI_SEND, new Uint8Array(MODEL_SERVER_MAX_PAYLOAD + 1)));
    expect((await c.next()).tag).toBe(TAG.EXCEPTION);
    expect((await c.ask(TAG.CSN_HIGH)).tag).toBe(TAG.CSN_HIGH);
    c.close();
  });

  test('a second client waits until the first disconnects; a disconnect keeps the chip state', async () => {
    const t1 = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
    const ts1 = new TropicSquare(t1);
    const key = loadKey();
    await ts1.startSecureSession(0, key);
    await ts1.memDataWrite(Uint8Array.of(42), 9);
    const c2 = await RawClient.open(server.port);
    c2.sock.write(encodeFrame(TAG.CSN_HIGH));
    await expect(c2.next(300)).rejects.toThrow('no reply');
    await t1.close();
    expect((await c2.next()).tag).toBe(TAG.CSN_HIGH);
    c2.close();
    const t3 = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
    const ts3 = new TropicSquare(t3);
    await ts3.startSecureSession(0, key);
    expect(await ts3.memDataRead(9)).toEqual(Uint8Array.of(42));
    await t3.resetTarget(); // RESET_TARGET rebuilds the chip from its configuration
    await ts3.startSecureSession(0, key);
    expect((await ts3.memDataRead(9)).length).toBe(0);
    await t3.close();
  });

  test('an internal error answers EXCEPTION and rebuilds the chip', async () => {
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
    await t.csnLow();
    server.faults.set({ exceptionAtFrame: 1 }); // a planted internal fault on the next message
    const e = (await t.transfer(Uint8Array.of(0x01, 0x00)).catch((x: unknown) => x)) as TransportTagError;
    expect(e.code).toBe('TH_TCP_EXCEPTION');
    expect(server.stats.resets).toBe(1);
    await t.close();
  });

  test('property: random tagged messages always get a protocol answer and never kill the server', async () => {
    const c = await RawClient.open(server.port);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }), async (tag, payload) => {
        const r = await c.ask(tag, payload);
        const known = [TAG.CSN_LOW, TAG.CSN_HIGH, TAG.SPI_SEND, TAG.POWER_ON, TAG.POWER_OFF, TAG.WAIT, TAG.RESET_TARGET] as number[];
        if (known.includes(tag)) expect(r.tag).toBe(payload.length > MODEL_SERVER_MAX_PAYLOAD ? TAG.EXCEPTION : tag);
        else expect([TAG.INVALID, TAG.UNSUPPORTED]).toContain(r.tag);
        if (r.tag === TAG.SPI_SEND) expect([0, payload.length]).toContain(r.payload.length);
      }),
      { numRuns: 400, seed: 20261122 },
    );
    expect((await c.ask(TAG.CSN_HIGH)).tag).toBe(TAG.CSN_HIGH);
    c.close();
  });

  test('property: random L2 frames always get a CRC-valid L2 response', async () => {
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
    const ts = new TropicSquare(t);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 255 }).filter((id) => id !== 0xaa), fc.uint8Array({ maxLength: 60 }), fc.boolean(), async (id, data, corrupt) => {
        const frame = encodeRequest(id, data);
        if (corrupt) frame[frame.length - 1] ^= 0x5a;
        await ts.link.writeRaw(frame);
        const r = await ts.link.receive(); // throws on a bad CRC or length
        expect(r.status).not.toBe(L2_STATUS.NO_RESP);
        if (corrupt) expect(r.status).toBe(L2_STATUS.CRC_ERR);
        // drain any queued encrypted-result chunks so the next request starts clean
        await ts.link.writeRaw(encodeRequest(0x08, new Uint8Array(0)));
        decodeResponse((await ts.link.receive()).frame);
      }),
      { numRuns: 300, seed: 7 },
    );
    await t.close();
  });
});

function loadKey(): Uint8Array {
  // the default configuration's slot-0 pairing key
  return (globalThis as { __sh0?: Uint8Array }).__sh0 ?? (globalThis as { __sh0?: Uint8Array }).__sh0!;
}

test.beforeAll(async () => {
  const { loadPairingKey } = await import('../config/pairing-key.js');
  const { resolveConfig } = await import('../config/env.js');
  (globalThis as { __sh0?: Uint8Array }).__sh0 = loadPairingKey(resolveConfig({}));
});

test.describe('model configuration', () => {
  test('the default configuration loads: FW 2.0.0, 475-byte user data slots', () => {
    const cfg = loadModelConfig();
    expect(Array.from(cfg.riscvFwVersion)).toEqual([0, 0, 0, 2]);
    expect(cfg.sTPub.length).toBe(32);
  });
  test('unknown keys and wrong sizes are errors naming the key and the expected form', () => {
    const e = (() => {
      try {
        parseModelConfig('s_t_priv: !!binary AAAA\nx509_certificate: !!binary MAA=\nbogus_key: 1\nriscv_fw_version: !!binary AAA=\n', '/tmp/x.yml');
      } catch (x) {
        return x as ConfigError;
      }
    })()!;
    expect(e).toBeInstanceOf(ConfigError);
    const text = e.problems.join('\n');
    expect(text).toContain('s_t_priv');
    expect(text).toContain('32 bytes');
    expect(text).toContain('bogus_key');
    expect(text).toContain('riscv_fw_version');
  });
  test('a key path that does not exist names the key and the file', () => {
    expect(() => parseModelConfig('s_t_priv: nope.pem\nx509_certificate: !!binary MAA=\n', '/tmp/cfg/x.yml')).toThrow(/s_t_priv: cannot read \/tmp\/cfg\/nope.pem/);
  });
});
