/**
 * The two sides of an exploration: the reference (by default the embedded model, in process) and
 * the target under test (`embedded` or `host:port`). Each side knows how to start a sequence from
 * its starting state: an in-memory rebuild (embedded), RESET_TARGET (a model server such as ts-tvl),
 * or a restore of what the previous sequence changed (a rig, which has no reset).
 */
import { CliError } from '../errors.js';
import { ModelServer } from '../model/server.js';
import { loadModelConfig } from '../model/model-config.js';
import { ModelFaults, type FaultInput } from '../model/faults.js';
import { harnessModel } from '../targets/implementation.js';
import type { TargetImplementation } from '../targets/target.js';
import { parseHostPort } from '../transport/target-url.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import type { L1Transport } from '../transport/l1-transport.js';
import type { PollOptions } from '../driver/l2-link.js';
import { InMemoryTransport } from './in-memory-transport.js';
import { explorableEccSlots, restoreToSnapshot, takeRestoreSnapshot, type RestorePlan, type RestoreSnapshot } from './restore.js';

export type ResetMode = 'memory' | 'reset-target' | 'restore';

export interface Side {
  role: 'reference' | 'target';
  /** `embedded model` or `host:port`. */
  label: string;
  implementation: TargetImplementation;
  transport: L1Transport;
  resetMode: ResetMode;
  poll?: PollOptions;
  /** Bring the chip to its starting state for a new sequence. */
  fresh(): Promise<void>;
  close(): Promise<void>;
  /** Restore sides: the ECC slots that were empty at the start (the only ones exploration may use). */
  explorableEccSlots?: number[];
}

export interface SideOptions {
  role: 'reference' | 'target';
  /** `embedded`, `host:port` or `tcp://host:port`. */
  spec: string;
  /** Embedded: model configuration (YAML path); the project's default when unset. */
  modelConfig?: string;
  /** Embedded: faults switched on from the start (a planted bug, see model/faults.ts). */
  faults?: FaultInput;
  /** host:port: what answers there (for known findings); `unknown` when unset. */
  implementation?: TargetImplementation;
  /** host:port: how a sequence starts fresh; by default RESET_TARGET on model servers, restore otherwise. */
  reset?: 'reset-target' | 'restore';
  pairingKey: Uint8Array;
  pairingSlot: number;
  poll?: PollOptions;
  /** What exploration may change on a restore side. */
  restorePlan: RestorePlan;
}

/** `ts-tvl@2.2`, `tropic01`, `tropic-harness-model` → an implementation (for `--target-impl`). */
export function parseImplementation(text: string, source: string): TargetImplementation {
  const [name, version] = text.split('@');
  const names = ['tropic-harness-model', 'ts-tvl', 'tropic01', 'unknown'] as const;
  const known = names.find((n) => n === name);
  if (!known) throw new CliError(`implementation ${JSON.stringify(text)}: expected one of ${names.join(', ')}, optionally with @version (e.g. ts-tvl@2.2)`);
  return version ? { name: known, version, source } : { name: known, source };
}

export async function openSide(o: SideOptions): Promise<Side> {
  if (o.spec === 'embedded') {
    const config = loadModelConfig(o.modelConfig);
    // Planted faults join the configuration's `faults:`, so they outlive every fresh chip.
    if (o.faults) config.faults = { ...config.faults, ...ModelFaults.parse(o.faults, 'planted faults') };
    const server = new ModelServer({ port: 0, config });
    const transport = new InMemoryTransport(server);
    return {
      role: o.role,
      label: `embedded model${o.modelConfig ? ` (${o.modelConfig})` : ''}${o.faults ? ' with planted faults' : ''}`,
      implementation: harnessModel('embedded model in the exploring process'),
      transport,
      resetMode: 'memory',
      fresh: async () => server.freshChip('fresh chip for an exploration sequence'),
      close: async () => transport.close(),
    };
  }
  const { host, port } = parseHostPort(o.spec.replace(/^tcp:\/\//, ''), `--${o.role}`);
  const implementation = o.implementation ?? { name: 'unknown', source: `not declared (--${o.role}-impl)` };
  const resetMode: ResetMode = o.reset ?? (implementation.name === 'ts-tvl' || implementation.name === 'tropic-harness-model' ? 'reset-target' : 'restore');
  const transport = await TcpTransport.connect({ host, port });
  return attachSide(transport, { ...o, label: `${host}:${port}`, implementation, resetMode, closeTransport: true });
}

/**
 * A side on a transport someone else connected (a Playwright fixture's): fresh chips by the given
 * reset mode; a restore side reads its starting state now and puts it back before every sequence
 * and on close.
 */
export async function attachSide(
  transport: L1Transport,
  o: Pick<SideOptions, 'role' | 'pairingKey' | 'pairingSlot' | 'poll' | 'restorePlan'> & { label: string; implementation: TargetImplementation; resetMode: ResetMode; resetChip?: () => void; closeTransport?: boolean },
): Promise<Side> {
  const close = async () => {
    if (o.closeTransport) await transport.close();
  };
  const side: Side = {
    role: o.role,
    label: o.label,
    implementation: o.implementation,
    transport,
    resetMode: o.resetMode,
    poll: o.poll,
    fresh: async () => (o.resetMode === 'memory' && o.resetChip ? o.resetChip() : transport.resetTarget()),
    close,
  };
  if (o.resetMode === 'restore') {
    const access = { transport, pairingKey: o.pairingKey, pairingSlot: o.pairingSlot, poll: o.poll };
    const snapshot: RestoreSnapshot = await takeRestoreSnapshot(access, o.restorePlan);
    side.explorableEccSlots = explorableEccSlots(o.restorePlan, snapshot);
    side.fresh = () => restoreToSnapshot(access, snapshot);
    side.close = async () => {
      try {
        await restoreToSnapshot(access, snapshot);
      } finally {
        await close();
      }
    };
  }
  return side;
}
