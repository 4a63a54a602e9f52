/**
 * Batch configuration reads (TropicSquare.rConfigReadAll / iConfigReadAll) against a real model
 * server on loopback: the values are those of one read per CO, on a pipelining transport in one
 * socket write; a CO answered other than OK fails naming its address; an address out of range is
 * refused before anything is sent; one driver step, however many COs.
 */
import { test, expect } from '@playwright/test';
import { modelServerPerTest } from './model-server-per-test.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { ArgumentError, L3ResultError } from '../errors.js';
import { CONFIG_REGISTERS, register } from '../protocol/config-objects.js';

const key = loadPairingKey(resolveConfig({}));
const model = modelServerPerTest();

async function sessionOn(pipeline: boolean, steps: string[] = []) {
  model.server.freshChip('next host');
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: model.server.port, pipeline });
  const ts = new TropicSquare(t, {
    step: (name, _args, run) => {
      steps.push(name);
      return run();
    },
  });
  await ts.startSecureSession(0, key);
  steps.length = 0;
  return { t, ts };
}

for (const pipeline of [true, false]) {
  test(`rConfigReadAll and iConfigReadAll give what one read per CO gives (${pipeline ? 'pipelined' : 'serial'})`, async () => {
    const steps: string[] = [];
    const { t, ts } = await sessionOn(pipeline, steps);
    try {
      // Some COs written, so the values differ from one CO to the next.
      await ts.rConfigErase();
      await ts.rConfigWrite(register('CFG_UAP_PING').address, 0x0000ff00);
      await ts.rConfigWrite(register('CFG_UAP_RANDOM_VALUE_GET').address, 0x12345678);
      const one = new Map<number, number>();
      for (const r of CONFIG_REGISTERS) one.set(r.address, await ts.rConfigRead(r.address));
      steps.length = 0;
      const writes = t.socketWrites;
      const all = await ts.rConfigReadAll();
      if (pipeline) expect(t.socketWrites - writes, 'the whole batch in one write').toBe(1);
      expect([...all.entries()]).toEqual([...one.entries()]);
      expect(all.get(register('CFG_UAP_RANDOM_VALUE_GET').address)).toBe(0x12345678);
      expect(steps, 'one driver step for every CO').toEqual(['rConfigReadAll']);
      // A subset, in the order asked.
      const some = [register('CFG_UAP_RANDOM_VALUE_GET').address, register('CFG_UAP_PING').address];
      expect([...(await ts.rConfigReadAll(some)).entries()]).toEqual([
        [some[0], 0x12345678],
        [some[1], 0x0000ff00],
      ]);
      const iAll = await ts.iConfigReadAll();
      expect(iAll.size).toBe(CONFIG_REGISTERS.length);
      for (const r of CONFIG_REGISTERS) expect(iAll.get(r.address), `I-config ${r.name}`).toBe(await ts.iConfigRead(r.address));
    } finally {
      await t.close();
    }
  });
}

test('a CO answered other than OK fails the batch naming its address; an out-of-range address is refused before anything is sent', async () => {
  const { t, ts } = await sessionOn(true);
  try {
    const ping = register('CFG_UAP_PING').address;
    // 0x101 is not 4-byte aligned: the chip answers FAIL (User API 4.2 Table 20).
    const e = await ts.rConfigReadAll([ping, 0x101]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(L3ResultError);
    expect((e as L3ResultError).resultName).toBe('FAIL');
    expect((e as Error).message).toContain('R_CONFIG_READ 0x101 (item 1 of 2)');
    // The session is still usable: a FAIL result is an answer, the nonces stay in step.
    expect(await ts.rConfigRead(ping)).toBe(0xffffffff);
    const writes = t.socketWrites;
    const refused = await ts.rConfigReadAll([ping, 0x10000]).catch((x: unknown) => x);
    expect(refused).toBeInstanceOf(ArgumentError);
    expect((refused as ArgumentError).argument).toBe('addresses[1]');
    expect(t.socketWrites, 'nothing sent').toBe(writes);
  } finally {
    await t.close();
  }
});
