/**
 * L2 frames (datasheet 7.3.3, User API 4.1). Request: REQ_ID, REQ_LEN, REQ_DATA, REQ_CRC.
 * Response: STATUS, RSP_LEN, RSP_DATA, RSP_CRC. The CRC covers every byte before it.
 */
import { concat, byteName } from '../bytes.js';
import { crc16 } from './crc16.js';
import { ProtocolError } from '../errors.js';

export const L2_REQ = {
  GET_INFO: 0x01,
  HANDSHAKE: 0x02,
  ENCRYPTED_CMD: 0x04,
  ENCRYPTED_SESSION_ABT: 0x08,
  RESEND: 0x10,
  SLEEP: 0x20,
  GET_LOG: 0xa2,
  GET_RESPONSE: 0xaa,
  STARTUP: 0xb3,
} as const;
export type L2RequestName = keyof typeof L2_REQ;
export const L2_REQ_NAMES: Record<number, string> = Object.fromEntries(Object.entries(L2_REQ).map(([k, v]) => [v, k]));

export const L2_STATUS = {
  REQ_OK: 0x01,
  RES_OK: 0x02,
  REQ_CONT: 0x03,
  RES_CONT: 0x04,
  RESP_DISABLED: 0x78,
  HSK_ERR: 0x79,
  NO_SESSION: 0x7a,
  TAG_ERR: 0x7b,
  CRC_ERR: 0x7c,
  UNKNOWN_REQ: 0x7e,
  GEN_ERR: 0x7f,
  NO_RESP: 0xff,
} as const;
export const L2_STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(L2_STATUS).map(([k, v]) => [v, k]));
export const statusName = (s: number): string => byteName(L2_STATUS_NAMES, s);
export const requestName = (id: number): string => byteName(L2_REQ_NAMES, id);

/** Fixed REQ_LEN of each request with a fixed size (User API tables 7-14); Encrypted_Cmd is 1..252. */
export const L2_REQ_LEN: Record<number, number> = {
  [L2_REQ.GET_INFO]: 2,
  [L2_REQ.HANDSHAKE]: 33,
  [L2_REQ.ENCRYPTED_SESSION_ABT]: 0,
  [L2_REQ.RESEND]: 0,
  [L2_REQ.SLEEP]: 1,
  [L2_REQ.STARTUP]: 1,
  [L2_REQ.GET_LOG]: 0,
};

export const GET_INFO_OBJECT = { X509_CERTIFICATE: 0x00, CHIP_ID: 0x01, RISCV_FW_VERSION: 0x02, SPECT_FW_VERSION: 0x04 } as const;
export const SLEEP_KIND = { SLEEP_MODE: 0x05 } as const;
export const STARTUP_ID = { REBOOT: 0x01, MAINTENANCE_REBOOT: 0x03 } as const;

export const L2_MAX_DATA = 252;
export const CERT_STORE_SIZE = 3840;
export const CERT_BLOCK_SIZE = 128;
export const CERT_BLOCKS = CERT_STORE_SIZE / CERT_BLOCK_SIZE; // 30

export interface RawFrameOptions {
  /** Override REQ_LEN (to send a length that disagrees with the data). */
  length?: number;
  /** Override the CRC (two bytes as sent, low byte first) to send a corrupted frame. */
  crc?: number;
}

/** Encode an L2 request frame; options let edge-case specs send wrong lengths and CRCs. */
export function encodeRequest(id: number, data: Uint8Array = new Uint8Array(0), opts: RawFrameOptions = {}): Uint8Array {
  const len = opts.length ?? data.length;
  const head = concat(Uint8Array.of(id & 0xff, len & 0xff), data);
  const crc = opts.crc ?? crc16(head);
  return concat(head, Uint8Array.of(crc & 0xff, (crc >>> 8) & 0xff));
}

export function encodeResponse(status: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const head = concat(Uint8Array.of(status, data.length), data);
  const crc = crc16(head);
  return concat(head, Uint8Array.of(crc & 0xff, crc >>> 8));
}

/**
 * True when `frame` is exactly one L2 frame, request or response (ID/STATUS, LEN, LEN data bytes,
 * CRC): LEN + 4 bytes long and its CRC matches. A LEN that disagrees with the bytes puts the CRC in
 * the wrong place, so such a frame fails too (the chip answers it CRC_ERR, datasheet 7.3.3).
 */
export function l2FrameCrcOk(frame: Uint8Array): boolean {
  if (frame.length < 4 || frame.length !== frame[1] + 4) return false;
  const end = frame.length - 2;
  return crc16(frame, 0, end) === (frame[end] | (frame[end + 1] << 8));
}

export interface L2Response {
  status: number;
  data: Uint8Array;
  /** The full frame as received (STATUS..CRC). */
  frame: Uint8Array;
}

/** Decode a complete response frame and check its CRC. */
export function decodeResponse(frame: Uint8Array): L2Response {
  if (frame.length < 4) {
    throw new ProtocolError('l2', `L2 response too short: ${frame.length} bytes, expected at least 4`, 'TH_L2_SHORT', { frame });
  }
  const len = frame[1];
  if (frame.length !== len + 4) {
    throw new ProtocolError('l2', `L2 response length mismatch: RSP_LEN=${len} but frame has ${frame.length - 4} data bytes`, 'TH_L2_LENGTH', {
      frame,
      expected: `${len + 4} bytes`,
    });
  }
  const want = crc16(frame, 0, len + 2);
  const got = frame[len + 2] | (frame[len + 3] << 8);
  if (want !== got) {
    throw new ProtocolError('l2', `L2 response CRC mismatch: got 0x${got.toString(16).padStart(4, '0')}, computed 0x${want.toString(16).padStart(4, '0')}`, 'TH_L2_CRC', {
      frame,
      expected: `CRC 0x${want.toString(16).padStart(4, '0')}`,
    });
  }
  return { status: frame[0], data: frame.slice(2, 2 + len), frame };
}
