/**
 * Seeded random sources for repeatable runs: the host's (ephemeral keys) and, on the embedded
 * model, the chip's (its handshake key, Random_Value_Get, ECC_Key_Generate). A seed is 32 bytes;
 * the stream is SHA-256(seed || counter) blocks, which is deterministic, cheap and needs nothing
 * but node:crypto. These sources are for tests only: a seed in a frame log reproduces every key.
 */
import { createHash } from 'node:crypto';
import { hex } from '../bytes.js';

export type RandomSource = (n: number) => Uint8Array;

/** A deterministic byte stream from a seed (hex string). */
export function seededRandom(seedHex: string): RandomSource {
  const seed = Buffer.from(seedHex, 'hex');
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n: number): Uint8Array => {
    while (pool.length < n) {
      const c = Buffer.alloc(8);
      c.writeBigUInt64LE(BigInt(counter++));
      pool = Buffer.concat([pool, createHash('sha256').update(seed).update(c).digest()]);
    }
    const out = new Uint8Array(pool.subarray(0, n));
    pool = pool.subarray(n);
    return out;
  };
}

export interface RunSeeds {
  /** Host random source (driver `random`). */
  host: string;
  /** The embedded model's random source. */
  model: string;
}

/** The run seed when TROPIC_SEED is unset: runs are repeatable by default. */
export const DEFAULT_RUN_SEED = 'tropic-harness';

/** Seeds of one test: derived from the run seed and the test's id, so they vary per test. */
export function deriveSeeds(testId: string, runSeed: string = DEFAULT_RUN_SEED): RunSeeds {
  const derive = (purpose: string) => hex(createHash('sha256').update(`${runSeed}\0${testId}\0${purpose}`).digest());
  return { host: derive('host'), model: derive('model') };
}

/** A target whose chip's random source can be replaced (the embedded model). */
export interface SeedableTarget {
  seedRandom?(random: RandomSource): void;
}
