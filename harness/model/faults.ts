/**
 * Fault injection inside the embedded model, switchable per test. One `ModelFaults` belongs to a
 * model server and is shared by every chip it builds, so a fault survives RESET_TARGET and
 * internal-error rebuilds; `restore()` (the embedded target's fresh chip for each test) goes back
 * to the faults the model configuration's `faults:` key declares.
 *
 * Counts are consumed as they fire (`busyPolls`, `exceptionAtFrame`, `loseResponse` is one-shot);
 * flags hold until changed. `resultOverride` is a planted bug for differential exploration: the
 * named L3 command (optionally on one slot) reports `result` instead of what it computed.
 */
import { z } from 'zod';
import { L3_CMD, L3_RESULT } from '../protocol/l3.js';
import { CHIP_STATUS } from '../protocol/l1.js';
import { ModelError } from '../errors.js';

const byteOrName = (table: Record<string, number>, what: string) =>
  z.union([z.number().int().min(0).max(255), z.string()]).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const n = table[v.toUpperCase()];
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `${what} ${JSON.stringify(v)} unknown; known: ${Object.keys(table).join(', ')}` });
      return z.NEVER;
    }
    return n;
  });

export const faultSchema = z.strictObject({
  /** The next N Get_Response polls answer CHIP_STATUS not-ready (consumed one per poll). */
  busyPolls: z.number().int().min(0).optional(),
  /** Every L2 response frame read goes out with its CRC's last byte flipped. */
  corruptResponseCrc: z.boolean().optional(),
  /** The responses to the next L2 request are lost (one-shot): Get_Response answers NO_RESP. */
  loseResponse: z.boolean().optional(),
  /** Alarm Mode (datasheet 6.5): CHIP_STATUS[ALARM]=1, L2 requests ignored, the session invalidated. */
  alarm: z.boolean().optional(),
  /** Start-up Mode (datasheet 6.1, 6.6): CHIP_STATUS[START]=1, Handshake_Req answers UNKNOWN_REQ; a regular restart or power-off ends it. */
  startupMode: z.boolean().optional(),
  /** Every server reply is written this many milliseconds late. */
  delayResponseMs: z.number().int().min(0).optional(),
  /** The Nth tagged message from now (1 = the next) raises an internal error: EXCEPTION and a rebuilt chip. */
  exceptionAtFrame: z.number().int().min(1).optional(),
  /** Planted bug: this L3 command (on this slot, if given) reports `result` (a byte or a result name). */
  resultOverride: z
    .strictObject({
      command: byteOrName(L3_CMD, 'L3 command'),
      slot: z.number().int().min(0).max(0xffff).optional(),
      result: byteOrName(L3_RESULT, 'L3 result'),
    })
    .optional(),
});
/** Faults as written (command and result may be names). */
export type FaultInput = z.input<typeof faultSchema>;
export type FaultSettings = z.output<typeof faultSchema>;

export class ModelFaults {
  private active: FaultSettings = {};
  private framesToException?: number;

  constructor(private readonly configured: FaultSettings = {}) {
    this.restore();
  }

  /** Parse faults (from YAML or a test); errors name the key. */
  static parse(input: unknown, source = 'faults'): FaultSettings {
    const r = faultSchema.safeParse(input ?? {});
    if (!r.success) throw new ModelError(`${source}: ${r.error.issues.map((i) => `${[source, ...i.path].join('.')}: ${i.message}`).join('; ')}`, 'TH_MODEL_FAULT');
    return r.data;
  }

  /** Switch faults on or off; keys not given keep their setting (`undefined` or false turns one off). */
  set(input: FaultInput): this {
    const f = ModelFaults.parse(input);
    Object.assign(this.active, f);
    const all = this.active as Record<string, unknown>;
    for (const k of Object.keys(all)) if (all[k] === undefined) delete all[k];
    if ('exceptionAtFrame' in input) this.framesToException = f.exceptionAtFrame;
    return this;
  }

  /** Every fault off. */
  clear(): this {
    this.active = {};
    this.framesToException = undefined;
    return this;
  }

  /** Back to the configured faults (the model configuration's `faults:`). */
  restore(): this {
    this.clear();
    return this.set({ ...this.configured, resultOverride: this.configured.resultOverride && { ...this.configured.resultOverride } });
  }

  get settings(): Readonly<FaultSettings> {
    return this.active;
  }

  /** Extra CHIP_STATUS bits (ALARM, START) every transfer's first byte carries. */
  get chipStatusBits(): number {
    return (this.active.alarm ? CHIP_STATUS.ALARM : 0) | (this.active.startupMode ? CHIP_STATUS.START : 0);
  }

  /** True when this Get_Response poll must answer not-ready (consumes one). */
  takeBusyPoll(): boolean {
    if (!this.active.busyPolls) return false;
    this.active.busyPolls--;
    return true;
  }

  /** True when the responses to this request are lost (one-shot). */
  takeLostResponse(): boolean {
    if (!this.active.loseResponse) return false;
    this.active.loseResponse = false;
    return true;
  }

  /** True when this tagged message must raise an internal error (counts down exceptionAtFrame). */
  takeFrameException(): boolean {
    if (this.framesToException === undefined) return false;
    if (--this.framesToException > 0) return false;
    this.framesToException = undefined;
    delete this.active.exceptionAtFrame;
    return true;
  }

  /** A response frame as it leaves the chip: a copy with a flipped CRC byte under corruptResponseCrc. */
  outgoing(frame: Uint8Array): Uint8Array {
    if (!this.active.corruptResponseCrc || frame.length === 0) return frame;
    const out = Uint8Array.from(frame);
    out[out.length - 1] ^= 0xff;
    return out;
  }

  /** The planted result for this command and slot, if any. */
  overriddenResult(command: number, slot: number | undefined): number | undefined {
    const o = this.active.resultOverride;
    if (!o || o.command !== command) return undefined;
    if (o.slot !== undefined && o.slot !== slot) return undefined;
    return o.result;
  }

  endStartupMode(): void {
    delete this.active.startupMode;
  }
}
