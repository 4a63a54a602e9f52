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
 * (3) or a whole Ping (9).
 */
import type { BenchRow } from './measure.js';
import { ECHO_MEASURES, FLOOR_IN_PROCESS, FLOOR_OTHER_PROCESS } from './floor-rows.js';

export const PING = 'L3 Ping 64 B';
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
  for (const r of pings) {
    const floorTarget = floorTargetOf(r.target);
    const trips = find(ROUND_TRIPS_PER_PING, r.target);
    if (!measured(trips)) {
      r.note = `no floor: ${ROUND_TRIPS_PER_PING} not measured`;
      continue;
    }
    const messages = find(MESSAGES_PER_PING, r.target);
    const perTrip = measured(messages) ? messages.median / trips.median : 1;
    const echo = ECHO_MEASURES.filter((e) => e.messagesPerWrite <= perTrip)
      .map((e) => find(e.measure, floorTarget, 'ops/s'))
      .filter(measured)
      .at(-1);
    if (!echo) {
      r.note = `no floor: no loopback echo on ${floorTarget} measured`;
      continue;
    }
    const floor = echo.median / trips.median;
    r.note = `${((100 * r.median) / floor).toFixed(0)}% of floor (${floorTarget}: "${echo.measure}" ${echo.median.toFixed(0)}/s / ${trips.median} round trip${trips.median === 1 ? '' : 's'} = ${floor.toFixed(0)}/s)`;
  }
  const tvl = pings.find((r) => r.target === 'ts-tvl');
  if (measured(tvl)) {
    for (const r of pings.filter((x) => x.target !== 'ts-tvl')) r.note = `${r.note ?? ''}; ${(r.median / tvl.median).toFixed(1)}x ts-tvl`;
  }
}
