/**
 * Putting a chip that cannot be reset (a rig) back where exploration found it. Before the first
 * sequence the objects exploration may change are read (ECC slots, User Data slots, R-config);
 * after each sequence they are put back: R-config erased and written back (then a reboot so it takes
 * effect), keys generated or stored into slots that were empty erased, User Data slots erased or
 * written back. ECC slots holding a key at the start are left out of exploration (a private key
 * cannot be put back), and irreversible commands are only generated with TROPIC_ALLOW_IRREVERSIBLE=1.
 */
import { hex } from '../bytes.js';
import { L3ResultError, TargetError } from '../errors.js';
import { STARTUP_ID } from '../protocol/l2.js';
import { LIMITS } from '../protocol/l3.js';
import { CONFIG_REGISTERS } from '../protocol/config-objects.js';
import { TropicSquare } from '../driver/tropic-square.js';
import type { PollOptions } from '../driver/l2-link.js';
import type { L1Transport } from '../transport/l1-transport.js';

export interface RestorePlan {
  eccSlots: number[];
  userDataSlots: number[];
}

export interface RestoreSnapshot {
  /** Slot → `empty` or a description of the key in it. */
  ecc: Map<number, string>;
  /** Slot → content (hex, empty string for an empty slot). */
  userData: Map<number, string>;
  rConfig: Map<number, number>;
}

export interface RestoreAccess {
  transport: L1Transport;
  pairingKey: Uint8Array;
  pairingSlot: number;
  poll?: PollOptions;
}

/** A driver on a normally rebooted chip (out of maintenance mode and sleep) with a session. */
async function session(a: RestoreAccess): Promise<TropicSquare> {
  const ts = new TropicSquare(a.transport, a.poll);
  await ts.reboot(STARTUP_ID.REBOOT);
  await ts.startSecureSession(a.pairingSlot, a.pairingKey);
  return ts;
}

async function readEcc(ts: TropicSquare, slot: number): Promise<string> {
  try {
    const k = await ts.eccKeyRead(slot);
    return `${k.curve} ${k.origin} ${hex(k.publicKey)}`;
  } catch (e) {
    if (e instanceof L3ResultError && e.resultName === 'INVALID_KEY') return 'empty';
    throw e;
  }
}

export async function takeRestoreSnapshot(a: RestoreAccess, plan: RestorePlan): Promise<RestoreSnapshot> {
  const ts = await session(a);
  const snap: RestoreSnapshot = { ecc: new Map(), userData: new Map(), rConfig: new Map() };
  for (const slot of plan.eccSlots.filter((s) => s < LIMITS.ECC_SLOTS)) snap.ecc.set(slot, await readEcc(ts, slot));
  for (const slot of plan.userDataSlots.filter((s) => s < LIMITS.USER_DATA_SLOTS)) snap.userData.set(slot, hex(await ts.memDataRead(slot)));
  for (const r of CONFIG_REGISTERS) snap.rConfig.set(r.address, await ts.rConfigRead(r.address));
  await ts.abortSecureSession();
  return snap;
}

/** The ECC slots exploration may use on this chip: those empty at the start (and the out-of-range ones). */
export function explorableEccSlots(plan: RestorePlan, snap: RestoreSnapshot): number[] {
  return plan.eccSlots.filter((s) => s >= LIMITS.ECC_SLOTS || snap.ecc.get(s) === 'empty');
}

/** Put the chip back to the snapshot; throws a TargetError naming what could not be restored. */
export async function restoreToSnapshot(a: RestoreAccess, snap: RestoreSnapshot): Promise<void> {
  let ts = await session(a);
  const problems: string[] = [];
  let configChanged = false;
  for (const [address, value] of snap.rConfig) {
    try {
      if ((await ts.rConfigRead(address)) !== value) configChanged = true;
    } catch (e) {
      // The sequence may have taken R-config read access away; erasing and writing back restores it.
      if (!(e instanceof L3ResultError)) throw e;
      configChanged = true;
    }
    if (configChanged) break;
  }
  if (configChanged) {
    await ts.rConfigErase();
    for (const [address, value] of snap.rConfig) if (value !== 0xffffffff) await ts.rConfigWrite(address, value);
    // R-config takes effect at start-up: reboot before anything it guards is restored.
    ts = await session(a);
  }
  for (const [slot, before] of snap.ecc) {
    const now = await readEcc(ts, slot);
    if (now === before) continue;
    if (before === 'empty') await ts.eccKeyErase(slot);
    else problems.push(`ECC slot ${slot} held a key at the start and now holds ${now === 'empty' ? 'none' : 'another'}: a private key cannot be put back`);
  }
  for (const [slot, before] of snap.userData) {
    const now = hex(await ts.memDataRead(slot));
    if (now === before) continue;
    if (now) await ts.memDataErase(slot);
    if (before) await ts.memDataWrite(Buffer.from(before, 'hex'), slot);
  }
  await ts.abortSecureSession();
  if (problems.length) throw new TargetError(`restore after an exploration sequence: ${problems.join('; ')}`, 'TH_RESTORE');
}
