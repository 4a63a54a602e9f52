/**
 * Link faults (@faults): a chaos proxy between the driver and the target injects what real links
 * and servers do. For every fault the driver either recovers as configured or raises a typed
 * error naming its layer, within its configured timeout: no test waits for Playwright's timeout.
 * Faults are placed at message numbers counted from the proxy's current count, so they land on a
 * known message of the next driver call whatever came before.
 */
import { test, expect, spec } from '../fixtures/index.js';
import { HarnessError, TimeoutError, TransportError, ProtocolError } from '../harness/errors.js';
import { rejection } from './helpers.js';

/** The I/O bound of the links these specs break: short, so a stall costs the suite little; each exchange on loopback takes well under a millisecond. */
const IO_MS = 250;
/**
 * Replies written a byte at a time: the driver reads as libtropic does (CHIP_STATUS, then the
 * response header, then its body), so a reply is a few bytes rather than a 257-byte
 * Get_Response window, and a test costs tens of milliseconds rather than hundreds.
 */
const SHORT_READS = { driver: { readMode: 'split' } } as const;
/** How long a fault may take to surface: the configured I/O bound, plus scheduling slack. */
const BOUND_MS = IO_MS + 1500;

async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

test.describe('link faults', () => {
  test('replies delayed with jitter below the I/O timeout still decode', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos, target }) => {
    const { tropic, proxy } = await chaos({ latencyMs: 5, jitterMs: 10 }, { ioTimeoutMs: 2000 });
    expect((await tropic.chipId()).serial).toBe(target.identity.serial);
    expect(proxy.stats.replies).toBeGreaterThan(0);
  });

  test('replies split into 1-byte segments are reassembled', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos, target }) => {
    const { tropic, proxy } = await chaos({ splitReplies: true }, { ioTimeoutMs: 5000, ...SHORT_READS });
    expect((await tropic.riscvFwVersion()).text).toBe(target.identity.riscvFw);
    expect(proxy.stats.replies).toBeGreaterThan(0);
  });

  test('a slow trickle of reply bytes within the I/O timeout still decodes', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos, target }) => {
    const { tropic, proxy } = await chaos({ trickleMs: 1 }, { ioTimeoutMs: 5000, ...SHORT_READS });
    expect((await tropic.riscvFwVersion()).text).toBe(target.identity.riscvFw);
    expect(proxy.stats.replies).toBeGreaterThanOrEqual(6);
  });

  test('replies merged into one segment are split back per message (pipelined)', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos, target }) => {
    test.skip(target.kind === 'tvl-process' || target.kind === 'tvl-container', 'ts-tvl 2.2 loses the second of two frames sent together: no pipelining');
    const { tropic, proxy } = await chaos({ mergeReplies: 3 }, { pipeline: true });
    expect((await tropic.chipId()).serial).toBe(target.identity.serial);
    expect(Object.keys(proxy.stats.injected).some((k) => k.startsWith('merge 3'))).toBe(true);
  });

  test('a connection dropped mid-exchange fails typed, within the I/O bound', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos }) => {
    const { tropic, proxy } = await chaos({}, { ioTimeoutMs: IO_MS });
    proxy.setFaults({ dropAt: proxy.stats.hostMessages + 2 });
    const r = await timed(tropic.getInfo(1));
    expect(r.error, 'the exchange must fail').toBeInstanceOf(TransportError);
    expect((r.error as TransportError).layer).toBe('transport');
    expect((r.error as TransportError).code).toMatch(/^TH_TCP_(CLOSED|IO|LINK_LOST)$/);
    expect(r.ms).toBeLessThan(BOUND_MS);
  });

  test('with reconnect on, a connection dropped at a window start is reconnected and the call succeeds', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos, target }) => {
    const { tropic, proxy, transport } = await chaos({}, { ioTimeoutMs: IO_MS, reconnect: true });
    const states: string[] = [];
    transport.on('state', (s: { state: string }) => states.push(s.state));
    proxy.setFaults({ dropAt: proxy.stats.hostMessages + 1 });
    expect((await tropic.chipId()).serial).toBe(target.identity.serial);
    expect(states).toContain('degraded');
    expect(proxy.stats.connections).toBe(2);
  });

  test('a connection reset fails typed, within the I/O bound', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos }) => {
    const { tropic, proxy } = await chaos({}, { ioTimeoutMs: IO_MS });
    proxy.setFaults({ resetAt: proxy.stats.hostMessages + 2 });
    const r = await timed(tropic.getInfo(1));
    expect(r.error).toBeInstanceOf(TransportError);
    expect((r.error as TransportError).code).toMatch(/^TH_TCP_(CLOSED|IO|LINK_LOST)$/);
    expect(r.ms).toBeLessThan(BOUND_MS);
  });

  test('a stalled reply times out within the I/O bound and never answers a later exchange', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos }) => {
    const { tropic, proxy, transport } = await chaos({}, { ioTimeoutMs: IO_MS, receiveRetries: 0 });
    const first = proxy.stats.hostMessages + 2;
    proxy.setFaults({ stallAt: first });
    const r = await timed(tropic.getInfo(1));
    expect(r.error, 'the stalled exchange must fail').toBeInstanceOf(HarnessError);
    expect((r.error as HarnessError).code).toMatch(/^TH_(TIMEOUT|TCP_LINK_LOST)$/);
    expect(r.ms).toBeLessThan(BOUND_MS);
    // Whatever arrives late must not become the answer to another exchange: the next calls fail
    // typed (the link is ended) or get their own, correct replies.
    proxy.setFaults({});
    for (const objectId of [2, 4]) {
      const next = await timed(transport.transfer(Uint8Array.of(objectId, objectId)));
      if (next.error) expect(next.error).toBeInstanceOf(HarnessError);
      else expect(next.value).toHaveLength(2);
    }
  });

  test('a corrupted byte in an L2 response is an L2 CRC error naming the frame', spec('User API v1.4.0 L2 frame CRC', 'reversible', ['@faults']), async ({ chaos }) => {
    const { tropic, proxy } = await chaos({}, { ioTimeoutMs: IO_MS });
    // getInfo: request window (3 messages), then the Get_Response window whose SPI_SEND (+5) carries
    // the response; byte 6 of that tagged reply is the first L2 data byte (tag, length x2,
    // CHIP_STATUS, STATUS, RSP_LEN).
    proxy.setFaults({ corruptAt: proxy.stats.hostMessages + 5, corruptOffset: 6 });
    const e = await rejection(tropic.getInfo(1));
    expect(e).toBeInstanceOf(ProtocolError);
    expect((e as ProtocolError).code).toBe('TH_L2_CRC');
    expect((e as ProtocolError).layer).toBe('l2');
    expect((e as ProtocolError).frame?.length).toBeGreaterThan(4);
  });

  test('a corrupted reply tag is a tag-echo error, not a wrong answer', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos }) => {
    const { tropic, proxy } = await chaos({}, { ioTimeoutMs: IO_MS });
    proxy.setFaults({ corruptAt: proxy.stats.hostMessages + 2, corruptOffset: 0 });
    const e = await rejection(tropic.getInfo(1));
    expect(e).toBeInstanceOf(HarnessError);
    expect((e as HarnessError).code).toMatch(/^TH_TCP_(TAG_MISMATCH|INVALID|UNSUPPORTED|EXCEPTION)$/);
  });

  test('a stall with retries configured surfaces after exactly the configured waits', spec('libtropic tagged TCP protocol', 'reversible', ['@faults']), async ({ chaos }) => {
    const { tropic, proxy } = await chaos({}, { ioTimeoutMs: 100, receiveRetries: 2 });
    proxy.setFaults({ stallAt: proxy.stats.hostMessages + 2 });
    const r = await timed(tropic.getInfo(1));
    expect(r.error).toBeInstanceOf(TimeoutError);
    // three waits of 100 ms: not before 300 ms (the retries happened), well before the test timeout
    expect(r.ms).toBeGreaterThanOrEqual(295);
    expect(r.ms).toBeLessThan(300 + 1500);
  });
});
