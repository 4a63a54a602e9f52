/**
 * Whether a transport to a target pipelines its messages (see TcpTransport): only a server that
 * frames its input may receive a chip-select window in one write. The target says which it is:
 * its kind, and for a process or container its implementation (known from the command, a package
 * or a probe: harness/targets/implementation.ts).
 *
 * - Frames its input: the embedded model, the model container, and this project's model server
 *   run as TVL_COMMAND (the `tvl-process` kind whose implementation is `tropic-harness-model`).
 * - Does not, or not known to: ts-tvl 2.2 (it loses the second of two frames in one read), rigs
 *   (the bridge cannot say over libtropic's protocol that it is ours, so a rig is unknown), and any
 *   implementation nobody identified.
 *
 * TROPIC_PIPELINE=0|1 overrides the choice; reconnect rules pipelining out (a retried exchange
 * would be re-sent behind messages already written).
 */
import type { TargetKind } from '../config/env.js';
import type { TargetImplementation } from '../targets/target.js';

export interface PipelineChoice {
  pipeline: boolean;
  /** Why, for reports and frame logs: the override, or what the target is. */
  reason: string;
}

/** Does a target of this kind and implementation frame its input (several frames in one read answered in order)? */
export function framesItsInput(kind: TargetKind, implementation?: Pick<TargetImplementation, 'name'>): boolean {
  switch (kind) {
    case 'embedded':
    case 'model-container':
      return true;
    case 'tvl-process':
    case 'tvl-container':
      // A tvl-process target may run this project's model server instead of ts-tvl.
      return implementation?.name === 'tropic-harness-model';
    case 'rig':
      return false;
  }
}

/** The pipelining a transport to this target uses: the configured override, else what the target frames. */
export function choosePipeline(opts: { configured?: boolean; reconnect?: boolean; kind: TargetKind; implementation?: Pick<TargetImplementation, 'name'> }): PipelineChoice {
  if (opts.configured !== undefined) return { pipeline: opts.configured, reason: `TROPIC_PIPELINE=${opts.configured ? 1 : 0}` };
  if (opts.reconnect) return { pipeline: false, reason: 'TROPIC_RECONNECT=1 (a retried exchange cannot be pipelined)' };
  const what = `${opts.kind} target${opts.implementation ? ` running ${opts.implementation.name}` : ''}`;
  return framesItsInput(opts.kind, opts.implementation)
    ? { pipeline: true, reason: `${what} frames its input` }
    : { pipeline: false, reason: `${what} is not known to frame its input` };
}
