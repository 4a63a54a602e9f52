/**
 * Capture edge cases built in the test with the project's capture writer: both pcap byte orders
 * and timestamp resolutions, pcapng sections of either byte order with blocks to skip, every
 * supported link type, IPv4 options and IPv6 extension headers, segments out of order and
 * retransmitted, sequence numbers wrapping, two connections, holes and cut files. Then
 * fast-check: random and mutated captures give entries or a TH_PCAP FrameLogError, nothing else.
 */
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import { hex } from '../bytes.js';
import { FrameLogError } from '../errors.js';
import { TAG, encodeFrame } from '../protocol/tagged-frame.js';
import { importCapture, listCaptureConnections } from '../framelog/import/index.js';
import { LINK } from '../framelog/import/packet.js';
import { BLOCK } from '../framelog/import/pcapng.js';
import { TcpConversation, linkFrame, writePcap, writePcapng, type WrittenPacket } from '../framelog/import/capture-writer.js';

const PORT = 28992;
/** Requests and the replies a tagged-protocol server gives them. */
const EXCHANGES: { tag: number; tx: Uint8Array; rtag: number; rx: Uint8Array }[] = [
  { tag: TAG.CSN_LOW, tx: new Uint8Array(0), rtag: TAG.CSN_LOW, rx: new Uint8Array(0) },
  { tag: TAG.SPI_SEND, tx: Uint8Array.of(0x01, 0x02, 0x03, 0x04), rtag: TAG.SPI_SEND, rx: Uint8Array.of(0x01, 0xff, 0xff, 0xff) },
  { tag: TAG.CSN_HIGH, tx: new Uint8Array(0), rtag: TAG.CSN_HIGH, rx: new Uint8Array(0) },
  { tag: TAG.SPI_SEND, tx: new Uint8Array(300).fill(0xa5), rtag: TAG.SPI_SEND, rx: new Uint8Array(300).fill(0x5a) },
  { tag: TAG.WAIT, tx: Uint8Array.of(10, 0, 0, 0), rtag: TAG.WAIT, rx: new Uint8Array(0) },
  { tag: 0x77, tx: new Uint8Array(0), rtag: TAG.INVALID, rx: new Uint8Array(0) },
];
const expectedEntries = EXCHANGES.map((x, seq) => ({ seq, tag: x.tag, tx: hex(x.tx), rtag: x.rtag, rx: hex(x.rx) }));
const view = (entries: { seq: number; tag: number; tx: string; rtag?: number; rx?: string }[]) => entries.map((e) => ({ seq: e.seq, tag: e.tag, tx: e.tx, rtag: e.rtag, rx: e.rx }));

interface ConvOptions {
  client?: string;
  server?: string;
  clientPort?: number;
  /** Split every message into segments of at most this many bytes. */
  segment?: number;
  seqs?: [number, number];
  ipv4Options?: Uint8Array;
  ipv6Extensions?: boolean;
  startMs?: number;
}

function conversation(o: ConvOptions = {}): TcpConversation {
  const c = new TcpConversation(
    { client: o.client ?? '127.0.0.1', server: o.server ?? '127.0.0.1', clientPort: o.clientPort ?? 40000, serverPort: PORT, startMs: o.startMs ?? 1_700_000_000_123.456 },
    { ipv4Options: o.ipv4Options, ipv6Extensions: o.ipv6Extensions },
  );
  if (o.seqs) c.seqs(...o.seqs);
  c.open();
  const pieces = (b: Uint8Array): Uint8Array[] => {
    const n = o.segment ?? b.length;
    const out: Uint8Array[] = [];
    for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
    return out;
  };
  for (const x of EXCHANGES) {
    for (const p of pieces(encodeFrame(x.tag, x.tx))) c.client(p);
    for (const p of pieces(encodeFrame(x.rtag, x.rx))) c.server(p);
  }
  return c.close();
}

function thrown(f: () => unknown): FrameLogError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FrameLogError);
    return e as FrameLogError;
  }
  throw new Error('expected a FrameLogError, nothing was thrown');
}

test('pcap in both byte orders, with micro- and nanosecond timestamps, imports the same entries and times', () => {
  const frames = conversation().frames();
  const results = [true, false].flatMap((littleEndian) => [false, true].map((nanosecond) => importCapture(writePcap(frames, { littleEndian, nanosecond }), { port: PORT })));
  for (const r of results) {
    expect(r.warnings).toEqual([]);
    expect(view(r.entries)).toEqual(expectedEntries);
    expect(r.entries[5].err).toContain('INVALID');
    expect(r.entries.map((e) => e.t)).toEqual(results[0].entries.map((e) => e.t));
  }
  // Request at 1_700_000_000_123.456 + 3 packets of handshake at 0.25 ms each; reply 0.25 ms later.
  expect(results[0].entries[0].t).toBeCloseTo(1_700_000_000_124.206, 3);
  expect(results[0].entries[0].ms).toBeCloseTo(0.25, 3);
});

test('pcapng: a big-endian section, unknown blocks skipped by length, Simple and obsolete Packet blocks, two sections of different byte order', () => {
  const frames = conversation().frames();
  const skip = [
    { type: BLOCK.NAME_RESOLUTION, body: Uint8Array.of(1, 0, 4, 0, 127, 0, 0, 1, 0, 0, 0, 0) },
    { type: BLOCK.INTERFACE_STATISTICS, body: new Uint8Array(12) },
    { type: BLOCK.DECRYPTION_SECRETS, body: new Uint8Array(9).fill(7) },
    { type: BLOCK.CUSTOM, body: Uint8Array.of(0, 0, 0x7e, 0x57, 1, 2, 3) },
    { type: 0x12345678, body: new Uint8Array(5) },
  ];
  for (const littleEndian of [true, false]) {
    const r = importCapture(writePcapng(frames, { littleEndian, extraBlocks: skip, tsresol: 9 }), { port: PORT });
    expect(r.meta.source).toBe('pcapng');
    expect(view(r.entries)).toEqual(expectedEntries);
    expect(r.entries[0].t).toBeCloseTo(1_700_000_000_124.206, 3);
  }
  for (const packetBlock of ['simple', 'obsolete'] as const) {
    expect(view(importCapture(writePcapng(frames, { littleEndian: false, packetBlock }), { port: PORT }).entries)).toEqual(expectedEntries);
  }
  // Half the packets in a little-endian section, the rest in a big-endian one; binary-resolution times.
  const half = Math.floor(frames.length / 2);
  const twoSections = new Uint8Array([...writePcapng(frames.slice(0, half), { tsresol: 0x80 | 20 }), ...writePcapng(frames.slice(half), { littleEndian: false })]);
  const r = importCapture(twoSections, { port: PORT });
  expect(view(r.entries)).toEqual(expectedEntries);
  expect(r.entries[0].t).toBeCloseTo(1_700_000_000_124.206, 2);
});

test('link types: Ethernet with 802.1Q/802.1ad tags, Linux SLL and SLL2, BSD NULL in both byte orders, LOOP, raw IP; IPv4 options and IPv6 extension headers', () => {
  const v4 = conversation({ ipv4Options: Uint8Array.of(1, 1, 1, 0, 1, 1, 1, 0) });
  const v6 = conversation({ client: '::1', server: '::1', ipv6Extensions: true });
  const cases: { name: string; packets: WrittenPacket[]; linkType: number }[] = [];
  for (const [name, c] of [['IPv4', v4], ['IPv6', v6]] as const) {
    cases.push({ name: `${name} Ethernet + 2 VLAN tags`, linkType: LINK.ETHERNET, packets: c.frames(LINK.ETHERNET, { vlanTags: 2 }) });
    for (const lt of [LINK.LINUX_SLL, LINK.LINUX_SLL2, LINK.NULL, LINK.LOOP, LINK.RAW]) cases.push({ name: `${name} link ${lt}`, linkType: lt, packets: c.frames(lt) });
    cases.push({ name: `${name} NULL big-endian`, linkType: LINK.NULL, packets: c.packets.map((p) => ({ timeMs: p.timeMs, data: linkFrame(LINK.NULL, p.ip, { nullBigEndian: true }) })) });
  }
  for (const x of cases) {
    const r = importCapture(writePcap(x.packets, { linkType: x.linkType }), { port: PORT });
    expect(view(r.entries), x.name).toEqual(expectedEntries);
    expect(r.meta.linkTypes, x.name).toEqual([x.linkType]);
  }
  expect(importCapture(writePcap(v6.frames()), { port: PORT }).meta.connection).toMatchObject({ client: '[::1]:40000', server: `[::1]:${PORT}` });
});

test('segments out of order, retransmitted, overlapping, and sequence numbers wrapping past 2^32 reassemble to the same entries', () => {
  const c = conversation({ segment: 5, seqs: [0xffffffff - 40, 0xfffffff0] });
  const frames = c.frames();
  // Swap neighbouring data packets of each direction, duplicate every 7th packet later on, and add
  // an overlapping retransmission covering two segments' bytes.
  const shuffled: WrittenPacket[] = [];
  for (let i = 3; i < frames.length - 3; i += 4) shuffled.push(frames[i + 2], frames[i + 3], frames[i], frames[i + 1]);
  const body = frames.slice(3, 3 + shuffled.length);
  const out = [...frames.slice(0, 3), ...shuffled, ...frames.slice(3 + shuffled.length)];
  body.forEach((f, i) => i % 7 === 0 && out.splice(Math.min(out.length - 3, 3 + i + 9), 0, f));
  const r = importCapture(writePcap(out), { port: PORT });
  expect(r.warnings).toEqual([]);
  expect(view(r.entries)).toEqual(expectedEntries);
  expect(r.meta.retransmittedBytes as number).toBeGreaterThan(0);
  expect(r.meta.outOfOrderSegments as number).toBeGreaterThan(0);
});

test('two connections are listed and selected with --connection; without it, or out of range, a TH_PCAP error lists them', () => {
  const a = conversation({ clientPort: 40001 }).frames();
  const b = conversation({ clientPort: 40002, startMs: 1_700_000_001_000 }).frames();
  // Interleaved in time, plus unrelated traffic on another port.
  const other = new TcpConversation({ client: '127.0.0.1', server: '127.0.0.1', clientPort: 50000, serverPort: 8080 }).open().client(Uint8Array.of(1)).frames();
  const capture = writePcap([...a, ...other, ...b].sort((x, y) => x.timeMs - y.timeMs));
  const list = listCaptureConnections(capture, { port: PORT });
  expect(list.connections.map((c) => [c.index, c.client, c.requests, c.replies, c.opened, c.closed])).toEqual([
    [1, '127.0.0.1:40001', EXCHANGES.length, EXCHANGES.length, true, true],
    [2, '127.0.0.1:40002', EXCHANGES.length, EXCHANGES.length, true, true],
  ]);
  const many = thrown(() => importCapture(capture, { port: PORT, file: '/x/two.pcap' }));
  expect(many.code).toBe('TH_PCAP');
  expect(many.message).toContain('two.pcap: 2 connections on port 28992');
  expect(many.message).toContain('2: 127.0.0.1:40002 → 127.0.0.1:28992');
  const second = importCapture(capture, { port: PORT, connection: 2 });
  expect(second.meta.connection).toMatchObject({ index: 2, of: 2, client: '127.0.0.1:40002' });
  expect(view(second.entries)).toEqual(expectedEntries);
  expect(thrown(() => importCapture(capture, { port: PORT, connection: 3 })).message).toContain('there is no connection 3');
});

test('a wrong --port names the ports the capture holds by their server side (where the SYN went), even when the client port is the lower one', () => {
  // Both ends ephemeral, the client's port below the server's: a real capture of a test's model server.
  const c = conversation({ clientPort: 20000 }).frames();
  const e = thrown(() => importCapture(writePcap(c), { port: 7, file: 'low-client.pcap' }));
  expect(e.code).toBe('TH_PCAP');
  expect(e.message).toContain(`TCP ports seen: ${PORT} (`);
  expect(e.message).not.toContain('20000 (');
});

test('a segment missing from the capture is reported as a hole; the entries before it are kept', () => {
  const frames = conversation({ segment: 50 }).frames();
  // The 300-byte SPI_SEND request (fourth exchange) is cut into segments; drop its second one.
  const sizes = frames.map((f) => f.data.length);
  const firstBig = sizes.findIndex((n, i) => i > 3 && n === sizes.reduce((m, x) => Math.max(m, x), 0));
  const r = importCapture(writePcap(frames.filter((_, i) => i !== firstBig + 1)), { port: PORT });
  expect(r.warnings.join('\n')).toMatch(/client→server: 50 bytes never captured before packet \d+/);
  expect(view(r.entries).slice(0, 3)).toEqual(expectedEntries.slice(0, 3));
});

test('structural damage is a TH_PCAP error naming file and byte offset; a file cut short keeps what came before with a warning', () => {
  const pcap = writePcap(conversation().frames());
  const bad = thrown(() => importCapture(Uint8Array.of(1, 2, 3, 4, 5), { file: 'junk.bin', format: 'pcap' }));
  expect(bad.code).toBe('TH_PCAP');
  expect(bad.message).toContain('junk.bin: byte offset 0');
  // A record declaring 16 MiB of packet data.
  const huge = pcap.slice();
  new DataView(huge.buffer).setUint32(24 + 8, 16 << 20, true);
  expect(thrown(() => importCapture(huge, { file: 'huge.pcap' })).message).toContain('huge.pcap: byte offset 32 (0x20): packet record 1 declares 16777216 captured bytes');
  // pcapng block whose trailing length disagrees.
  const ng = writePcapng(conversation().frames());
  const broken = ng.slice();
  const idbLength = new DataView(broken.buffer).getUint32(28 + 4, true); // the Interface Description after the 28-byte Section Header
  new DataView(broken.buffer).setUint32(28 + idbLength - 4, 99, true);
  const e = thrown(() => importCapture(broken, { file: 'b.pcapng' }));
  expect(e.code).toBe('TH_PCAP');
  expect(e.message).toMatch(/b\.pcapng: byte offset \d+ \(0x[0-9a-f]+\): block of type 0x1 ends with total length 99/);
  // Cut in the middle of the last packets: a warning, and the exchanges before the cut.
  const cut = importCapture(pcap.subarray(0, pcap.length - 30), { port: PORT, file: 'cut.pcap' });
  expect(cut.warnings.join('\n')).toMatch(/cut\.pcap: byte offset \d+: file ends inside packet \d+/);
  expect(view(cut.entries)).toEqual(expectedEntries);
});

/** Runs an import and returns what it threw, if anything. */
function outcome(data: Uint8Array): unknown {
  try {
    importCapture(data, { port: PORT, connection: 1 });
    listCaptureConnections(data, { port: PORT });
    return undefined;
  } catch (e) {
    return e;
  }
}
const typed = (e: unknown): boolean => e === undefined || (e instanceof FrameLogError && e.code === 'TH_PCAP');

test('fast-check: random bytes, and valid pcap/pcapng captures with bytes mutated, truncated or spliced, import or fail with a TH_PCAP FrameLogError only', () => {
  const seeds = [
    writePcap(conversation({ segment: 7 }).frames()),
    writePcap(conversation({ client: '::1', server: '::1', ipv6Extensions: true }).frames(LINK.LINUX_SLL2), { linkType: LINK.LINUX_SLL2, littleEndian: false, nanosecond: true }),
    writePcapng(conversation({ segment: 11 }).frames(LINK.ETHERNET, { vlanTags: 1 }), { extraBlocks: [{ type: BLOCK.NAME_RESOLUTION, body: new Uint8Array(8) }], tsresol: 9 }),
    writePcapng(conversation().frames(LINK.NULL), { linkType: LINK.NULL, littleEndian: false, packetBlock: 'obsolete' }),
  ];
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => typed(outcome(b))), { numRuns: 300 });
  // Random bytes behind a valid magic reach the record and block parsers.
  fc.assert(
    fc.property(fc.constantFrom(...seeds), fc.uint8Array({ maxLength: 400 }), (seed, tail) => typed(outcome(new Uint8Array([...seed.subarray(0, 28), ...tail])))),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
      fc.option(fc.nat(), { nil: undefined }),
      (seed, flips, cutAt) => {
        const m = seed.slice();
        for (const [at, v] of flips) m[at % m.length] = v;
        return typed(outcome(cutAt === undefined ? m : m.subarray(0, cutAt % m.length)));
      },
    ),
    { numRuns: 1500 },
  );
});
