/** Helpers shared by the spec files: expected errors by name, UAP set-up and restore. */
import { expect } from '../fixtures/index.js';
import { L2StatusError, L3ResultError } from '../harness/errors.js';
import { L2_STATUS, type L2Response } from '../harness/protocol/l2.js';
import { CONFIG_REGISTERS, register } from '../harness/protocol/config-objects.js';
import type { TropicSquare } from '../harness/driver/tropic-square.js';

/** The error a promise rejects with (undefined if it resolves). */
export const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (err: unknown) => err);

export async function expectL3(p: Promise<unknown>, resultName: string): Promise<void> {
  const e = await rejection(p);
  expect(e, `expected L3 result ${resultName}`).toBeInstanceOf(L3ResultError);
  expect((e as L3ResultError).resultName).toBe(resultName);
}

export async function expectL2Error(p: Promise<unknown>, statusName: string): Promise<void> {
  const e = await rejection(p);
  expect(e, `expected L2 status ${statusName}`).toBeInstanceOf(L2StatusError);
  expect((e as L2StatusError).statusName).toBe(statusName);
}

export function expectStatus(r: L2Response, name: keyof typeof L2_STATUS): void {
  expect(r.status, `L2 status 0x${r.status.toString(16)} should be ${name}`).toBe(L2_STATUS[name]);
}

/**
 * Run `body` with R-config registers set (effective after a reboot, as on the chip), then restore
 * the R-config exactly as it was: snapshot every known CO, erase, write, reboot; afterwards erase,
 * write the snapshot back and reboot. Needs CFG_UAP_R_CONFIG_WRITE_ERASE/READ for the slot.
 */
export async function withRConfig(ts: TropicSquare, slot: number, key: Uint8Array, writes: Record<string, number>, body: () => Promise<void>): Promise<void> {
  const snapshot = new Map<number, number>();
  for (const r of CONFIG_REGISTERS) snapshot.set(r.address, await ts.rConfigRead(r.address));
  const apply = async (values: Map<number, number>) => {
    await ts.rConfigErase();
    for (const [addr, v] of values) if (v !== 0xffffffff) await ts.rConfigWrite(addr, v);
  };
  const wanted = new Map(snapshot);
  for (const [name, value] of Object.entries(writes)) wanted.set(register(name).address, value);
  await apply(wanted);
  await ts.reboot();
  await ts.startSecureSession(slot, key);
  try {
    await body();
  } finally {
    // the body may have ended the session on the chip (sleep, reboot, tag errors): start afresh
    await ts.startSecureSession(slot, key);
    await apply(snapshot);
    await ts.reboot();
  }
}

export const bytesOf = (n: number, fill = (i: number) => (i * 7 + 3) & 0xff): Uint8Array => Uint8Array.from({ length: n }, (_, i) => fill(i));
