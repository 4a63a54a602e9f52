/**
 * The framed DevKit firmware's wire format, as libtropic's host port builds it
 * (tropicsquare/libtropic hal/posix/usb_devkit/libtropic_port_posix_usb_devkit.c at
 * bbf9647036d12bb0d2f111a435fd23a013325d5b: construct_frame / recv_usb_devkit_resp):
 *
 *   host -> DevKit:  AA 55 | DATA_LEN (u16 big-endian) | DATA (protobuf UsbDevkitCmd) | CRC-16 (big-endian)
 *   DevKit -> host:  55 AA | DATA_LEN (u16 big-endian) | DATA (protobuf UsbDevkitResp) | CRC-16 (big-endian)
 *
 * The CRC is libtropic's L2 CRC-16 (polynomial 0x8005, initial 0, no reflection) over
 * DATA_LEN || DATA; unlike L2 frames it is sent high byte first. The firmware refuses DATA_LEN 0
 * or above its buffer (4093 bytes) with ErrorResp BAD_DATA_LEN.
 */
import { crc16 } from '../../protocol/crc16.js';

export const HOST_MAGIC = Uint8Array.of(0xaa, 0x55);
export const DEVKIT_MAGIC = Uint8Array.of(0x55, 0xaa);
export const FRAME_DATA_MAX = 4093;
/** Magic, length and CRC around the data. */
export const FRAME_OVERHEAD = 6;

/** CRC-16 of DATA_LEN || DATA as its two wire bytes (big-endian). */
export function frameCrc(lengthAndData: Uint8Array): Uint8Array {
  const c = crc16(lengthAndData);
  return Uint8Array.of(c >>> 8, c & 0xff);
}

export function encodeDevkitFrame(magic: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_OVERHEAD + data.length);
  out.set(magic, 0);
  out[2] = data.length >>> 8;
  out[3] = data.length & 0xff;
  out.set(data, 4);
  out.set(frameCrc(out.subarray(2, 4 + data.length)), 4 + data.length);
  return out;
}
