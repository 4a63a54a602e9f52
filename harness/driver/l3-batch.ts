/**
 * What a batch of L3 commands in flight (TropicSquare.l3Batch) needs besides the driver: the error
 * an aborted batch throws, and how long a command's result can be, so the batch knows which
 * results come in one chunk and may have the next command written behind them.
 */
import { HarnessError } from '../errors.js';
import { L3_CMD, LIMITS } from '../protocol/l3.js';
import { TAG_LEN } from '../protocol/session.js';

/** One command's raw result, as `l3Raw` returns it. */
export interface BatchReply {
  result: number;
  data: Uint8Array;
}

/**
 * A batch stopped at item `index` (its `command`): `completed` holds the replies of the items
 * before it, which the chip answered and the driver authenticated; `cause` is the first failure.
 */
export class L3BatchError extends HarnessError {
  constructor(
    message: string,
    readonly index: number,
    readonly command: string,
    readonly count: number,
    readonly completed: BatchReply[],
    cause: unknown,
  ) {
    super('l3', message, { cause }, 'TH_L3_BATCH_ABORTED');
  }
}

/**
 * Result chunk size of the targets that pipeline (this project's model cuts results into 128-byte
 * chunks, as ts-tvl does). A result packet no longer than this is one RES_OK chunk, so the next
 * command may be written behind its poll; a longer one is read (and its further chunks polled for
 * from its RES_SIZE) before anything is written behind it.
 */
export const RESULT_CHUNK = 128;

/** Result data bytes (after the result byte) of each command at most, by CMD_ID (User API 4.2). */
const RESULT_DATA_MAX: Readonly<Record<number, (plaintext: Uint8Array) => number>> = {
  [L3_CMD.PING]: (p) => p.length - 1,
  [L3_CMD.PAIRING_KEY_WRITE]: () => 0,
  [L3_CMD.PAIRING_KEY_READ]: () => 3 + 32,
  [L3_CMD.PAIRING_KEY_INVALIDATE]: () => 0,
  [L3_CMD.R_CONFIG_WRITE]: () => 0,
  [L3_CMD.R_CONFIG_READ]: () => 3 + 4,
  [L3_CMD.R_CONFIG_ERASE]: () => 0,
  [L3_CMD.I_CONFIG_WRITE]: () => 0,
  [L3_CMD.I_CONFIG_READ]: () => 3 + 4,
  [L3_CMD.R_MEM_DATA_WRITE]: () => 0,
  [L3_CMD.R_MEM_DATA_READ]: () => 3 + LIMITS.USER_DATA_SLOT_FW2,
  [L3_CMD.R_MEM_DATA_ERASE]: () => 0,
  [L3_CMD.RANDOM_VALUE_GET]: (p) => 3 + (p[1] ?? LIMITS.RANDOM_MAX),
  [L3_CMD.ECC_KEY_GENERATE]: () => 0,
  [L3_CMD.ECC_KEY_STORE]: () => 0,
  [L3_CMD.ECC_KEY_READ]: () => 15 + 64,
  [L3_CMD.ECC_KEY_ERASE]: () => 0,
  [L3_CMD.ECDSA_SIGN]: () => 15 + 64,
  [L3_CMD.EDDSA_SIGN]: () => 15 + 64,
  [L3_CMD.MCOUNTER_INIT]: () => 0,
  [L3_CMD.MCOUNTER_UPDATE]: () => 0,
  [L3_CMD.MCOUNTER_GET]: () => 3 + 4,
  [L3_CMD.MAC_AND_DESTROY]: () => 3 + 32,
};

/**
 * Whether this command's result packet (RES_SIZE, result byte and data, tag) surely fits one
 * result chunk. A command outside the User API is not assumed to (its answer is not documented).
 */
export function resultFitsOneChunk(plaintext: Uint8Array): boolean {
  const dataMax = plaintext.length ? RESULT_DATA_MAX[plaintext[0]]?.(plaintext) : undefined;
  return dataMax !== undefined && 2 + 1 + dataMax + TAG_LEN <= RESULT_CHUNK;
}
