/**
 * ts-tvl whose version is neither declared (TVL_VERSION) nor readable from its installation: a
 * documented behaviour tells the versions apart. Before 2.3 ts-tvl has 444-byte User Data slots
 * (User API 1.4.0, RISC-V FW 1.x); from 2.3 on 475 (FW 2.x), so a 475-byte R_Mem_Data_Write is
 * refused by the older one. Only for model targets: the chip is reset before and after (a rig's
 * R-memory is never written for this).
 */
import { TropicSquare } from '../driver/tropic-square.js';
import { LIMITS } from '../protocol/l3.js';
import type { TcpTransport } from '../transport/tcp-transport.js';
import type { TargetImplementation } from './target.js';

export interface ProbeOptions {
  pollDelayMs?: number;
  responseTimeoutMs?: number;
  pairingSlot: number;
  pairingKey: Uint8Array;
  /** Send RESET_TARGET before and after (ts-tvl targets); off for a model reset another way. */
  resetTarget: boolean;
}

export async function probeTvlVersion(transport: TcpTransport, o: ProbeOptions): Promise<TargetImplementation> {
  try {
    if (o.resetTarget) await transport.resetTarget();
    // Unset options keep the driver's defaults (an explicit undefined would replace them).
    const polling = Object.fromEntries(Object.entries({ pollDelayMs: o.pollDelayMs, responseTimeoutMs: o.responseTimeoutMs }).filter(([, v]) => v !== undefined));
    const ts = new TropicSquare(transport, { ...polling, userDataSlotSize: LIMITS.USER_DATA_SLOT_FW2 });
    await ts.startSecureSession(o.pairingSlot, o.pairingKey);
    const accepted = await ts.memDataWrite(new Uint8Array(LIMITS.USER_DATA_SLOT_FW2), 0).then(
      () => true,
      () => false,
    );
    if (accepted) await ts.memDataErase(0);
    if (o.resetTarget) await transport.resetTarget();
    return {
      name: 'ts-tvl',
      version: accepted ? '>=2.3' : '<2.3',
      source: `behaviour probe: a ${LIMITS.USER_DATA_SLOT_FW2}-byte User Data slot was ${accepted ? 'accepted' : 'refused'}`,
    };
  } catch (e) {
    return { name: 'ts-tvl', source: `version unknown: probe failed (${(e as Error).message.split('\n')[0]}); set TVL_VERSION` };
  }
}
