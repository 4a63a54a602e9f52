/**
 * libtropic LT_PRINT_SPI_DATA console output. The console text is made in the test from real
 * traffic (the driver against the model server), printed the way libtropic's print_hex_chunks
 * prints (see src/lt_l1.c: "  >>  TX: " / "  <<  RX: ", "%02X " per byte, a break and ten spaces
 * every 32 bytes), with LT_LOG lines between records. The import must give back the same L2
 * frames, decode, and replay against a fresh model with no divergence.
 */
import { test, expect } from '@playwright/test';
import fc from 'fast-check';
import { ModelServer } from '../model/server.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { concat, hex } from '../bytes.js';
import { FrameLogError } from '../errors.js';
import { CHIP_STATUS } from '../protocol/l1.js';
import { TAG } from '../protocol/tagged-frame.js';
import type { ExchangeRecord } from '../transport/l1-transport.js';
import { importData, importLtSpiLog } from '../framelog/import/index.js';
import { decodeFrameLog } from '../framelog/decode.js';
import { replayFrameLog } from '../framelog/replay.js';
import type { FrameLogEntry } from '../framelog/frame-log.js';

/** What libtropic prints for one record. */
function ltPrint(direction: 'TX' | 'RX', bytes: Uint8Array): string {
  let s = direction === 'TX' ? '  >>  TX: ' : '  <<  RX: ';
  bytes.forEach((b, i) => {
    s += `${b.toString(16).toUpperCase().padStart(2, '0')} `;
    if ((i + 1) % 32 === 0) s += '\n          ';
  });
  return `${s}\n`;
}

interface Window {
  tx: Uint8Array;
  rx: Uint8Array;
}

/** Chip-select windows of a run of exchanges (recorded or imported). */
function windows(records: { tag: number; tx: Uint8Array; rx: Uint8Array }[]): Window[] {
  const out: Window[] = [];
  let cur: { tx: Uint8Array[]; rx: Uint8Array[] } | undefined;
  for (const r of records) {
    if (r.tag === TAG.CSN_LOW) cur = { tx: [], rx: [] };
    else if (r.tag === TAG.SPI_SEND && cur) {
      cur.tx.push(r.tx);
      cur.rx.push(r.rx);
    } else if (r.tag === TAG.CSN_HIGH && cur) {
      out.push({ tx: concat(...cur.tx), rx: concat(...cur.rx) });
      cur = undefined;
    }
  }
  return out;
}
const fromRecords = (rs: ExchangeRecord[]) => windows(rs.map((r) => ({ tag: r.tag, tx: r.request, rx: r.reply ?? new Uint8Array(0) })));
const fromEntries = (es: FrameLogEntry[]) => windows(es.map((e) => ({ tag: e.tag, tx: Buffer.from(e.tx, 'hex'), rx: Buffer.from(e.rx ?? '', 'hex') })));

/** The records libtropic would print for these windows: every request written, every response read. */
function printed(ws: Window[]): { direction: 'TX' | 'RX'; bytes: Uint8Array }[] {
  const out: { direction: 'TX' | 'RX'; bytes: Uint8Array }[] = [];
  for (const w of ws) {
    if (w.tx[0] !== 0xaa) out.push({ direction: 'TX', bytes: w.tx });
    else if (w.rx[0] & CHIP_STATUS.READY && w.rx[1] !== 0xff) out.push({ direction: 'RX', bytes: w.rx.subarray(0, w.rx[2] + 5) });
  }
  return out;
}

async function realTraffic(): Promise<ExchangeRecord[]> {
  const server = await new ModelServer({ port: 0 }).start();
  const records: ExchangeRecord[] = [];
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
  t.on('exchange', (r: ExchangeRecord) => records.push(r));
  const chip = new TropicSquare(t);
  await chip.getInfo(1, 0); // CHIP_ID
  await chip.getInfo(2, 0); // RISC-V FW version
  await chip.chipId();
  await chip.getInfo(0, 0); // certificate store, first block: a long response over several lines
  await t.close();
  await server.close();
  return records;
}

test('console output printed from real traffic imports to the same L2 frames, decodes, and replays against a fresh model without divergence', async () => {
  const records = await realTraffic();
  const expected = printed(fromRecords(records));
  expect(expected.some((r) => r.bytes.length > 64)).toBe(true); // continuation lines are exercised
  let text = 'INFO    [  42] Starting libtropic example\r\n';
  expected.forEach((r, i) => {
    text += ltPrint(r.direction, r.bytes);
    if (i % 3 === 1) text += `INFO    [ 123] \t\t- value ${i}\r\n`;
  });
  text += 'INFO    [  77] Done\r\n';

  // Auto-detected from the content, as the CLI does.
  const r = importData(Buffer.from(text), 'console.txt');
  expect(r.warnings).toEqual([]);
  expect(r.meta).toMatchObject({ source: 'lt-spi-log', file: 'console.txt', transfers: { tx: expected.filter((x) => x.direction === 'TX').length, rx: expected.filter((x) => x.direction === 'RX').length } });
  const got = fromEntries(r.entries);
  expect(got.map((w, i) => (expected[i].direction === 'TX' ? hex(w.tx) : hex(w.rx)))).toEqual(expected.map((x) => hex(x.bytes)));
  // RX windows read as libtropic does: Get_Response, then STATUS+LEN, then the rest.
  expect(r.entries.slice(0, 3).map((e) => e.tag)).toEqual([TAG.CSN_LOW, TAG.SPI_SEND, TAG.CSN_HIGH]);
  expect(decodeFrameLog(r.entries)).toMatch(/L2 request .* crc=ok/);
  expect(decodeFrameLog(r.entries)).toMatch(/L2 response .* crc=ok/);
  expect(decodeFrameLog(r.entries)).not.toContain('crc=BAD');

  const server = await new ModelServer({ port: 0 }).start();
  const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
  try {
    const replay = await replayFrameLog(r.entries, t);
    expect(replay.errors).toEqual([]);
    expect(replay.diverged).toEqual([]);
    expect(replay.sent).toBe(r.entries.length);
  } finally {
    await t.close();
    await server.close();
  }
});

const REQUEST = Uint8Array.from([0x01, 0x02, 0x01, 0x00, 0x2b, 0x92]); // Get_Info_Req(1, 0), CRC included
const RESPONSE = Uint8Array.from([0x01, 0x01, 0x28, ...new Array(40).fill(0x11), 0xab, 0xcd]);

test('continuation lines, a multiple of 32 bytes, lt_get_tr01_mode\'s lone Get_Response, CRLF, ANSI colours, a timestamp prefix and interleaved lines are handled', () => {
  const rx64 = Uint8Array.from([0x01, 0x01, 59, ...new Array(59).fill(0x22), 0x01, 0x02]); // 64 bytes: ends on a blank continuation
  const stamp = (line: string) => `[12:00:00.123] ${line}`;
  const text = [
    '\x1b[32mINFO    [  10] hello\x1b[0m',
    ltPrint('TX', Uint8Array.of(0xaa)).trimEnd(),
    ltPrint('TX', REQUEST).trimEnd(),
    // An application line between the RX header line and its continuation.
    ...ltPrint('RX', RESPONSE).trimEnd().split('\n').flatMap((l, i) => (i === 0 ? [l, 'WARNING [  99] interleaved'] : [l])),
    ...ltPrint('RX', rx64).split('\n').map(stamp),
  ].join('\r\n');
  const r = importLtSpiLog(text, { file: 'mixed.log' });
  expect(r.problems).toEqual([]);
  const ws = fromEntries(r.entries);
  expect(ws.map((w) => hex(w.tx))).toEqual(['aa', hex(REQUEST), hex(new Uint8Array(RESPONSE.length)).replace(/^00/, 'aa'), hex(new Uint8Array(64)).replace(/^00/, 'aa')]);
  expect(hex(ws[2].rx)).toBe(hex(RESPONSE));
  expect(hex(ws[3].rx)).toBe(hex(rx64));
  expect(r.meta).toMatchObject({ transfers: { tx: 2, rx: 2 }, otherLines: 2 });
});

test('unparseable records are reported with their line numbers and skipped; strict mode throws TH_LTLOG naming the line', () => {
  const lines = [
    'INFO    [   1] start', // 1
    ltPrint('TX', REQUEST).trimEnd(), // 2
    '  >>  TX: 01 02 ZZ 00', // 3: not hex
    '  <<  RX: 01 01 28 11 11', // 4: RX declaring 40 data bytes, cut short by the next record
    ltPrint('TX', REQUEST).trimEnd(), // 5
    '          33 44 55', // 6: continuation with no open record
    '  <<  TX: 01 02', // 7: wrong arrows
    '  <<  RX: 01', // 8: libtropic's uint8_t length: a 257-byte response printed as one byte
  ];
  const r = importLtSpiLog(lines.join('\n'), { file: 'bad.log' });
  expect(r.problems.map((p) => p.line)).toEqual([3, 4, 6, 7, 8]);
  expect(r.problems[0].reason).toContain('"ZZ" is not a hex byte');
  expect(r.problems[1].reason).toContain('RX record has 5 bytes, its length byte declares 45 (line 5 starts the next record)');
  expect(r.problems[4].reason).toContain('uint8_t');
  expect(r.warnings[0]).toBe(`bad.log: line 3: ${r.problems[0].reason}`);
  expect(fromEntries(r.entries).map((w) => hex(w.tx))).toEqual([hex(REQUEST), hex(REQUEST)]);

  let err: unknown;
  try {
    importLtSpiLog(lines.join('\n'), { file: 'bad.log', strict: true });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FrameLogError);
  expect((err as FrameLogError).code).toBe('TH_LTLOG');
  expect((err as FrameLogError).message).toContain('bad.log: line 3: TX record: "ZZ" is not a hex byte');

  let none: unknown;
  try {
    importLtSpiLog('INFO    [   1] nothing here\n', { file: 'empty.log' });
  } catch (e) {
    none = e;
  }
  expect((none as FrameLogError).code).toBe('TH_LTLOG');
  expect((none as FrameLogError).message).toContain('empty.log: no LT_PRINT_SPI_DATA output in 2 lines');
});

test('fast-check: random text and mutated console logs import or fail with a TH_LTLOG FrameLogError only', () => {
  const valid = ['INFO    [   1] x', ltPrint('TX', REQUEST), ltPrint('RX', RESPONSE), ltPrint('TX', Uint8Array.of(0xaa))].join('\n');
  const ok = (text: string, strict: boolean): boolean => {
    try {
      const r = importLtSpiLog(text, { strict });
      return r.entries.every((e) => typeof e.tx === 'string' && /^[0-9a-f]*$/.test(e.tx) && /^[0-9a-f]*$/.test(e.rx ?? ''));
    } catch (e) {
      return e instanceof FrameLogError && e.code === 'TH_LTLOG';
    }
  };
  const alphabet = fc.constantFrom(...' \t\r\n>>< TXRX:0123456789ABCDEFabcdefZ[]INFO\x1b'.split(''));
  fc.assert(fc.property(fc.string({ unit: alphabet, maxLength: 300 }), fc.boolean(), (s, strict) => ok(s, strict)), { numRuns: 500 });
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => ok(s, false)), { numRuns: 300 });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.constantFrom(...'0F \n:Z>'.split(''))), { minLength: 1, maxLength: 8 }), fc.boolean(), (edits, strict) => {
      const chars = valid.split('');
      for (const [at, c] of edits) chars[at % chars.length] = c;
      return ok(chars.join(''), strict);
    }),
    { numRuns: 800 },
  );
});
