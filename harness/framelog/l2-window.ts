/**
 * What one chip-select window carries at L2: a request (REQ_ID, REQ_LEN, data, CRC), a
 * Get_Response read (CHIP_STATUS, then a response frame or NO_RESP), or nothing. Shared by the
 * recorder (which stores the summary with the window's CSN_HIGH record), the decoder and replay.
 */
import { hex } from '../bytes.js';
import { decodeChipStatus } from '../protocol/l1.js';
import { CERT_BLOCK_SIZE, GET_INFO_OBJECT, L2_REQ, L2_STATUS, l2FrameCrcOk, requestName, statusName } from '../protocol/l2.js';

export type L2Summary =
  | { kind: 'request'; id: number; name: string; len: number; crc: boolean; detail?: string }
  | { kind: 'response'; status: number; name: string; len: number; crc: boolean; chipStatus: string }
  | { kind: 'poll'; chipStatus: string; noResp: boolean }
  | { kind: 'empty' };

const GET_INFO_NAMES: Record<number, string> = Object.fromEntries(Object.entries(GET_INFO_OBJECT).map(([k, v]) => [v, k]));

/**
 * CHIP_STATUS as the datasheet names its bits (Table 7: READY, ALARM, START), e.g. `READY`,
 * `READY=0`, `READY|START`, `READY=0|ALARM`; undefined bits 3-7 shown in hex when set.
 */
export function chipStatusText(raw: number): string {
  const s = decodeChipStatus(raw);
  const parts = [s.ready ? 'READY' : 'READY=0'];
  if (s.alarm) parts.push('ALARM');
  if (s.startup) parts.push('START');
  if (raw & 0xf8) parts.push(`undefined bits 0x${(raw & 0xf8).toString(16)}`);
  return parts.join('|');
}

/** Names a Get_Info request's object and block (User API Table 8). */
export function getInfoDetail(data: Uint8Array): string {
  const obj = data[0];
  const name = obj === undefined ? '?' : (GET_INFO_NAMES[obj] ?? `object 0x${obj.toString(16).padStart(2, '0')}`);
  return obj === GET_INFO_OBJECT.X509_CERTIFICATE ? `${name} block ${data[1] ?? '?'} (bytes ${(data[1] ?? 0) * CERT_BLOCK_SIZE}..)` : name;
}

/** The L2 meaning of a chip-select window, from everything sent (`tx`) and clocked back (`rx`). */
export function summarizeWindow(tx: Uint8Array, rx: Uint8Array): L2Summary {
  if (tx.length === 0) return { kind: 'empty' };
  if (tx[0] === L2_REQ.GET_RESPONSE) {
    const chipStatus = chipStatusText(rx[0] ?? 0);
    if (rx.length < 2 || rx[1] === L2_STATUS.NO_RESP || !(rx[0] & 1)) return { kind: 'poll', chipStatus, noResp: rx[1] === L2_STATUS.NO_RESP };
    const len = rx[2] ?? 0;
    const frame = rx.subarray(1, 1 + len + 4);
    return { kind: 'response', status: rx[1], name: statusName(rx[1]), len, crc: l2FrameCrcOk(frame), chipStatus };
  }
  const len = tx[1] ?? 0;
  // The CRC sits where REQ_LEN says; trailing bytes of the transfer are not part of the frame.
  const frame = tx.subarray(0, Math.min(tx.length, len + 4));
  const data = tx.subarray(2, 2 + len);
  const detail = tx[0] === L2_REQ.GET_INFO ? getInfoDetail(data) : tx[0] === L2_REQ.HANDSHAKE && data.length === 33 ? `pairing slot ${data[32]}` : undefined;
  return { kind: 'request', id: tx[0], name: requestName(tx[0]), len, crc: frame.length === len + 4 && l2FrameCrcOk(frame), ...(detail ? { detail } : {}) };
}

/** The response frame's data bytes of a Get_Response window (for short previews). */
export function responseData(rx: Uint8Array): Uint8Array {
  const len = rx[2] ?? 0;
  return rx.subarray(3, 3 + len);
}

export const short = (b: Uint8Array, max = 24): string => (b.length > max ? `${hex(b.subarray(0, max))}…(${b.length} B)` : hex(b));
