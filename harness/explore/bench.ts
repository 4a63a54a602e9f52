/** Exploration throughput against the embedded model (both sides in process), for `npm run bench`. */
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';
import { explore } from './engine.js';
import { openSide } from './sides.js';

export interface ExploreThroughput {
  sequencesPerSecond: number;
  commandsPerSecond: number;
  sequences: number;
  commands: number;
  seconds: number;
}

/** Explore embedded against embedded for about `seconds` (batches of 20 sequences, 30 commands at most). */
export async function exploreThroughput(seconds: number): Promise<ExploreThroughput> {
  const pairingKey = loadPairingKey(resolveConfig({}));
  const common = { pairingKey, pairingSlot: 0, restorePlan: { eccSlots: [], userDataSlots: [] } };
  const reference = await openSide({ ...common, role: 'reference', spec: 'embedded' });
  const target = await openSide({ ...common, role: 'target', spec: 'embedded' });
  let sequences = 0;
  let commands = 0;
  const started = performance.now();
  try {
    for (let seed = 1; performance.now() - started < seconds * 1000; seed++) {
      const r = await explore({ reference, target, pairingKey, compareContent: true, irreversibleAllowed: true, runs: 20, seed, maxCommands: 30, generation: { irreversible: true } });
      sequences += r.sequences;
      commands += r.commands;
    }
  } finally {
    await Promise.all([reference.close(), target.close()]);
  }
  const elapsed = (performance.now() - started) / 1000;
  return { sequencesPerSecond: sequences / elapsed, commandsPerSecond: commands / elapsed, sequences, commands, seconds: elapsed };
}
