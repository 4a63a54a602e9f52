/**
 * Faults inside the model (@faults): what a chip (or a model) does wrong, and what the driver must
 * then do: recover as configured (busy polls within the poll budget, a slow reply within the I/O
 * timeout) or raise a typed error naming its layer and frame within its configured bound.
 */
import { test, expect, spec } from '../fixtures/index.js';
import { HarnessError, L2StatusError, L3ResultError, ProtocolError, TimeoutError, TransportTagError } from '../harness/errors.js';
import { TcpTransport } from '../harness/transport/tcp-transport.js';
import { TropicSquare } from '../harness/driver/tropic-square.js';
import { rejection } from './helpers.js';

const SLACK_MS = 1500;

async function elapsed<T>(p: Promise<T>): Promise<{ ms: number; error?: unknown; value?: T }> {
  const t0 = performance.now();
  try {
    return { ms: performance.now() - t0, value: await p };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

test.describe('model faults', () => {
  test('busy for fewer polls than the budget: the driver keeps polling and gets the response', spec('datasheet CHIP_STATUS READY, L2 Get_Response', 'reversible', ['@faults']), async ({ modelFaults, makeTropic, target }) => {
    modelFaults.set({ busyPolls: 15 });
    const ts = makeTropic({ maxPolls: 50 });
    expect((await ts.chipId()).serial).toBe(target.identity.serial);
    expect(ts.link.busyPolls).toBeGreaterThanOrEqual(15);
  });

  test('busy for longer than the poll budget: a typed L1 timeout naming the bound that was hit', spec('datasheet CHIP_STATUS READY', 'reversible', ['@faults']), async ({ modelFaults, makeTropic }) => {
    modelFaults.set({ busyPolls: 1000 });
    const r = await elapsed(makeTropic({ maxPolls: 20, responseTimeoutMs: 2000 }).getInfo(1));
    expect(r.error).toBeInstanceOf(TimeoutError);
    expect((r.error as TimeoutError).layer).toBe('l1');
    expect((r.error as TimeoutError).message).toMatch(/maxPolls 20/);
    expect(r.ms).toBeLessThan(2000 + SLACK_MS);
  });

  test('a corrupted response CRC is an L2 CRC error carrying the frame', spec('User API v1.4.0 L2 frame CRC', 'reversible', ['@faults']), async ({ modelFaults, tropic }) => {
    modelFaults.set({ corruptResponseCrc: true });
    const e = await rejection(tropic.getInfo(1));
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe('TH_L2_CRC');
    expect((e as ProtocolError).frame!.length).toBeGreaterThanOrEqual(4);
  });

  test('a lost response ends in a typed timeout within the response budget', spec('datasheet L2 Get_Response NO_RESP', 'reversible', ['@faults']), async ({ modelFaults, makeTropic }) => {
    modelFaults.set({ loseResponse: true });
    const r = await elapsed(makeTropic({ responseTimeoutMs: 120, maxPolls: 100_000 }).getInfo(1));
    expect(r.error).toBeInstanceOf(TimeoutError);
    expect((r.error as TimeoutError).message).toMatch(/responseTimeoutMs 120/);
    expect(r.ms).toBeLessThan(120 + SLACK_MS);
  });

  test('ALARM mode is reported as a typed L1 error with the CHIP_STATUS byte', spec('datasheet 6.5 Alarm Mode', 'reversible', ['@faults']), async ({ modelFaults, tropic }) => {
    modelFaults.set({ alarm: true });
    const e = await rejection(tropic.getInfo(1));
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe('TH_L1_ALARM');
    expect((e as ProtocolError).frame).toHaveLength(1);
  });

  test('in Start-up mode a handshake is refused at L2 and Get_Info still answers', spec('datasheet 6.1 Start-up Mode', 'reversible', ['@faults']), async ({ modelFaults, tropic, pairingKey, harnessConfig, target }) => {
    modelFaults.set({ startupMode: true });
    const e = await rejection(tropic.startSecureSession(harnessConfig.TROPIC_PAIRING_SLOT, pairingKey));
    expect(e).toBeInstanceOf(L2StatusError);
    expect((e as L2StatusError).statusName).toBe('UNKNOWN_REQ');
    expect((await tropic.chipId()).serial).toBe(target.identity.serial);
  });

  test('a reply slower than the I/O timeout is a typed transport timeout within its bound', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ modelFaults, transport, target }) => {
    await transport.close(); // the model serves one client at a time
    const t = await TcpTransport.connect({ host: target.host, port: target.port, ioTimeoutMs: 150, receiveRetries: 0 });
    try {
      modelFaults.set({ delayResponseMs: 1500 });
      const r = await elapsed(new TropicSquare(t).getInfo(1));
      expect(r.error).toBeInstanceOf(TimeoutError);
      expect((r.error as TimeoutError).layer).toBe('transport');
      expect(r.ms).toBeLessThan(150 + SLACK_MS);
    } finally {
      modelFaults.clear();
      await t.close();
    }
  });

  test('a reply slower than usual but within the I/O timeout is waited for', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ modelFaults, tropic, target }) => {
    modelFaults.set({ delayResponseMs: 20 });
    expect((await tropic.chipId()).serial).toBe(target.identity.serial);
  });

  test('an internal exception in the model is a typed EXCEPTION tag error, and the rebuilt chip answers', spec('libtropic tagged TCP protocol EXCEPTION', 'reversible', ['@faults']), async ({ modelFaults, tropic, target }) => {
    modelFaults.set({ exceptionAtFrame: 2 });
    const e = await rejection(tropic.getInfo(1));
    expect(e).toBeInstanceOf(TransportTagError);
    expect((e as HarnessError).code).toBe('TH_TCP_EXCEPTION');
    expect((await tropic.chipId()).serial).toBe(target.identity.serial);
  });

  test('a planted result on one command and slot is reported as that L3 result, other slots unaffected', spec('User API v1.4.0 L3 results', 'reversible', ['@faults']), async ({ modelFaults, session }) => {
    modelFaults.set({ resultOverride: { command: 'R_MEM_DATA_READ', slot: 7, result: 'UNAUTHORIZED' } });
    const e = await rejection(session.memDataRead(7));
    expect(e).toBeInstanceOf(L3ResultError);
    expect((e as L3ResultError).resultName).toBe('UNAUTHORIZED');
    // Another slot answers as usual: an empty slot reads as zero bytes.
    expect(await session.memDataRead(8)).toHaveLength(0);
  });
});
