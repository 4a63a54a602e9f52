/**
 * Frame-log decoder: groups SPI transfers by chip-select window and names what they carry —
 * L2 requests (with CRC check), Get_Response polls and the responses they read.
 */
import { concat, hex } from '../bytes.js';
import { crc16 } from '../protocol/crc16.js';
import { describeChipStatus } from '../protocol/l1.js';
import { L2_REQ, L2_STATUS, requestName, statusName } from '../protocol/l2.js';
import { TAG, tagName } from '../protocol/tagged-frame.js';
import { entryBytes, type FrameLogEntry } from './frame-log.js';

const short = (b: Uint8Array, max = 24): string => (b.length > max ? `${hex(b.subarray(0, max))}…(${b.length} B)` : hex(b));

export function decodeWindow(tx: Uint8Array, rx: Uint8Array): string {
  if (tx.length === 0) return 'empty chip-select window';
  if (tx[0] === L2_REQ.GET_RESPONSE) {
    const cs = rx[0] ?? 0;
    if (rx.length < 3) return `Get_Response poll: CHIP_STATUS ${describeChipStatus(cs)}`;
    const st = rx[1];
    if (st === L2_STATUS.NO_RESP) return `Get_Response poll: CHIP_STATUS ${describeChipStatus(cs)}, NO_RESP`;
    const len = rx[2];
    const frame = rx.subarray(1, 1 + len + 4);
    const crcOk = frame.length === len + 4 && crc16(frame, 0, len + 2) === (frame[len + 2] | (frame[len + 3] << 8));
    return `L2 response ${statusName(st)} len=${len} data=${short(frame.subarray(2, 2 + len))} crc=${crcOk ? 'ok' : 'BAD'}`;
  }
  const len = tx[1] ?? 0;
  const crcOk = tx.length >= len + 4 && crc16(tx, 0, len + 2) === (tx[len + 2] | (tx[len + 3] << 8));
  return `L2 request ${requestName(tx[0])} len=${len} data=${short(tx.subarray(2, 2 + len))} crc=${crcOk ? 'ok' : 'BAD'} (CHIP_STATUS ${describeChipStatus(rx[0] ?? 0)})`;
}

/** One line per exchange, with the L2 meaning attached when a chip-select window closes. */
export function decodeFrameLog(entries: FrameLogEntry[]): string {
  const lines: string[] = [];
  let tx: Uint8Array[] = [];
  let rx: Uint8Array[] = [];
  let open = false;
  for (const e of entries) {
    const b = entryBytes(e);
    const head = `#${String(e.seq).padStart(5)} ${tagName(e.tag).padEnd(12)}`;
    const reply = e.err ? ` !! ${e.err}` : e.rtag !== undefined && e.rtag !== e.tag ? ` -> ${tagName(e.rtag)}` : '';
    if (e.tag === TAG.CSN_LOW) {
      open = true;
      tx = [];
      rx = [];
      lines.push(`${head}${reply}`);
    } else if (e.tag === TAG.SPI_SEND) {
      if (open) {
        tx.push(b.tx);
        rx.push(b.rx ?? new Uint8Array(0));
      }
      lines.push(`${head} tx=${short(b.tx)} rx=${b.rx ? short(b.rx) : '-'}${reply}`);
    } else if (e.tag === TAG.CSN_HIGH) {
      lines.push(`${head}${reply}${open ? `   => ${decodeWindow(concat(...tx), concat(...rx))}` : ''}`);
      open = false;
    } else {
      lines.push(`${head}${e.tx ? ` payload=${short(b.tx)}` : ''}${reply}`);
    }
  }
  return lines.join('\n') + '\n';
}
