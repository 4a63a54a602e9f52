/**
 * The framed firmware's protobuf messages, loaded at run time from devkit.proto with protobufjs
 * (no generated code, no hand-written varints). Objects use protobufjs' camelCase field names.
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import { PROJECT_ROOT } from '../../paths.js';

export const DEVKIT_PROTO = path.join(PROJECT_ROOT, 'harness', 'rig', 'devkit', 'devkit.proto');

export interface RawCmd {
  sendSpiData?: { txData?: Uint8Array; timeoutMs?: number };
  setAutoCsMode?: { on?: boolean };
  setCs?: { high?: boolean };
  setTr01Pwr?: { on?: boolean };
  getGpo?: Record<string, never>;
}
export interface UsbDevkitCmd {
  app?: Record<string, never>;
  raw?: RawCmd;
}
export type RawKind = keyof RawCmd;
export interface RawResp {
  sendSpiData?: { resCode?: string; rxData?: Uint8Array };
  setAutoCsMode?: { resCode?: string };
  setCs?: { resCode?: string };
  setTr01Pwr?: { resCode?: string };
  getGpo?: { resCode?: string; high?: boolean };
}
export interface UsbDevkitResp {
  app?: Record<string, never>;
  raw?: RawResp;
  error?: { resCode?: string };
}

let root: protobuf.Root | undefined;
function types(): { cmd: protobuf.Type; resp: protobuf.Type } {
  root ??= protobuf.loadSync(DEVKIT_PROTO);
  return { cmd: root.lookupType('UsbDevkitCmd'), resp: root.lookupType('UsbDevkitResp') };
}

function toPlain<T>(type: protobuf.Type, msg: protobuf.Message): T {
  const o = type.toObject(msg, { enums: String, bytes: Array, oneofs: true });
  return normalise(o) as T;
}

/** Byte arrays back to Uint8Array; the oneof discriminator (`type`, the oneofs' name) dropped. */
function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'type') out[k] = normalise(x);
    return out;
  }
  return v;
}

export function encodeCmd(cmd: UsbDevkitCmd): Uint8Array {
  const { cmd: t } = types();
  return t.encode(t.fromObject(cmd)).finish();
}
export function decodeCmd(data: Uint8Array): UsbDevkitCmd {
  const { cmd: t } = types();
  return toPlain<UsbDevkitCmd>(t, t.decode(data));
}
export function encodeResp(resp: UsbDevkitResp): Uint8Array {
  const { resp: t } = types();
  return t.encode(t.fromObject(resp)).finish();
}
export function decodeResp(data: Uint8Array): UsbDevkitResp {
  const { resp: t } = types();
  return toPlain<UsbDevkitResp>(t, t.decode(data));
}
