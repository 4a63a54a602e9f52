/**
 * Ratios that make the figures readable: each target's L3 Ping 64 B against its floor, the fastest
 * a Ping could go on this machine if the server took no time at all.
 *
 * A target's floor is the echo server where its own server runs: `embedded` shares the client's
 * process (floor `loopback`); every other target is another process (floor `loopback, other
 * process`). A Ping's floor is that echo's rate divided by the round trips one Ping takes on the
 * target, as measured (`round trips per L3 Ping 64 B`: socket writes). The echo is the one whose
 * round trip carries as many tagged messages as the target's do (`messages per L3 Ping 64 B` over
 * the round trips; the largest echo not above it): serial, one; pipelined, a chip-select window
 * (3) or a whole Ping (9). `L3 Ping 64 B, <n> in flight` is compared with the same floor.
 */
import type { BenchRow } from './measure.js';
import { ECHO_MEASURES, FLOOR_IN_PROCESS, FLOOR_OTHER_PROCESS } from './floor-rows.js';

export const PING = 'L3 Ping 64 B';
/**
 * Pings of 64 B in flight (pipelining targets only), counted per Ping: batches of 16 and of 64 (a
 * deeper batch spreads each round trip's fixed cost, the socket write and the wake-up of the other
 * side, over more Pings, and keeps both sides busy longer between batches).
 */
export const PING_BATCH_SIZES = [16, 64] as const;
export const pingBatchMeasure = (n: number): string => `L3 Ping 64 B, ${n} in flight`;
export const PING_BATCH = pingBatchMeasure(PING_BATCH_SIZES[0]);
const PING_BATCH_MEASURES: ReadonlySet<string> = new Set(PING_BATCH_SIZES.map(pingBatchMeasure));
export const ROUND_TRIPS_PER_PING = 'round trips per L3 Ping 64 B';
export const MESSAGES_PER_PING = 'messages per L3 Ping 64 B';

/** Targets whose server runs in the benchmark's own process. */
const IN_PROCESS_TARGETS: ReadonlySet<string> = new Set(['embedded']);

export function floorTargetOf(target: string): string {
  return IN_PROCESS_TARGETS.has(target) ? FLOOR_IN_PROCESS : FLOOR_OTHER_PROCESS;
}

const measured = (r: BenchRow | undefined): r is BenchRow => !!r && Number.isFinite(r.median) && r.median > 0;

export function annotate(rows: BenchRow[]): void {
  const find = (measure: string, target: string, unit?: string) => rows.find((r) => r.measure === measure && r.target === target && (!unit || r.unit === unit));
  const pings = rows.filter((r) => r.measure === PING && r.unit === 'ops/s' && Number.isFinite(r.median));
  /** The target's floor for one Ping, or why there is none. */
  const floorOf = (target: string): { floor: number; text: string } | string => {
    const floorTarget = floorTargetOf(target);
    const trips = find(ROUND_TRIPS_PER_PING, target);
    if (!measured(trips)) return `no floor: ${ROUND_TRIPS_PER_PING} not measured`;
    const messages = find(MESSAGES_PER_PING, target);
    const perTrip = measured(messages) ? messages.median / trips.median : 1;
    const echo = ECHO_MEASURES.filter((e) => e.messagesPerWrite <= perTrip)
      .map((e) => find(e.measure, floorTarget, 'ops/s'))
      .filter(measured)
      .at(-1);
    if (!echo) return `no floor: no loopback echo on ${floorTarget} measured`;
    const floor = echo.median / trips.median;
    return { floor, text: `(${floorTarget}: "${echo.measure}" ${echo.median.toFixed(0)}/s / ${trips.median} round trip${trips.median === 1 ? '' : 's'} = ${floor.toFixed(0)}/s)` };
  };
  for (const r of pings) {
    const f = floorOf(r.target);
    r.note = typeof f === 'string' ? f : `${((100 * r.median) / f.floor).toFixed(0)}% of floor ${f.text}`;
  }
  // Pings in flight against the same floor as one Ping at a time (so above 100% is possible: one
  // round trip then carries several Pings), and against the target's Ping at a time.
  for (const r of rows.filter((x) => PING_BATCH_MEASURES.has(x.measure) && x.unit === 'ops/s' && Number.isFinite(x.median))) {
    const f = floorOf(r.target);
    const single = pings.find((p) => p.target === r.target);
    const vsFloor = typeof f === 'string' ? f : `${((100 * r.median) / f.floor).toFixed(0)}% of the ${PING} floor ${f.text}`;
    r.note = `${vsFloor}${measured(single) ? `; ${(r.median / single.median).toFixed(1)}x ${PING} one at a time` : ''}`;
  }
  const tvl = pings.find((r) => r.target === 'ts-tvl');
  if (measured(tvl)) {
    for (const r of pings.filter((x) => x.target !== 'ts-tvl')) r.note = `${r.note ?? ''}; ${(r.median / tvl.median).toFixed(1)}x ts-tvl`;
  }
}
