/** Helpers shared by the spec files: expected errors by name, R-config set-up, injected failures. */
import { expect } from '../fixtures/index.js';
import { ArgumentError, L2StatusError, L3ResultError, TargetError } from '../harness/errors.js';
import { L2_STATUS, type L2Response } from '../harness/protocol/l2.js';
import { register } from '../harness/protocol/config-objects.js';
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
 * Set R-config registers and make them effective (a reboot, as on the chip), keeping every other CO
 * as it was; a new secure session follows. The `chipRestore` fixture snapshots R-config before the
 * erase and puts it back after the test, pass or fail. Needs CFG_UAP_R_CONFIG_WRITE_ERASE/READ for
 * the slot.
 */
export async function applyRConfig(ts: TropicSquare, slot: number, key: Uint8Array, writes: Record<string, number>): Promise<void> {
  const wanted = await ts.rConfigReadAll();
  for (const [name, value] of Object.entries(writes)) wanted.set(register(name).address, value >>> 0);
  await ts.rConfigErase();
  for (const [addr, v] of wanted) if (v !== 0xffffffff) await ts.rConfigWrite(addr, v);
  await ts.reboot();
  await ts.startSecureSession(slot, key);
}

/**
 * A deliberate failure midway through a spec, after it changed the chip, when
 * TROPIC_INJECT_FAILURES=1 (set only by the harness test that proves the restore works on a chip
 * that is never reset). Never set otherwise.
 */
export function failHereWhenInjecting(after: string): void {
  if (process.env.TROPIC_INJECT_FAILURES === '1') throw new TargetError(`injected failure after ${after} (TROPIC_INJECT_FAILURES=1)`, 'TH_INJECTED_FAILURE');
}

/** Expect an ArgumentError from the driver naming `argument` (refused before anything is sent). */
export async function expectArgumentError(p: Promise<unknown>, argument: string): Promise<void> {
  const e = await rejection(p);
  expect(e, `expected the driver to refuse argument ${argument}`).toBeInstanceOf(ArgumentError);
  expect((e as ArgumentError).argument).toBe(argument);
}

export const bytesOf = (n: number, fill = (i: number) => (i * 7 + 3) & 0xff): Uint8Array => Uint8Array.from({ length: n }, (_, i) => fill(i));
