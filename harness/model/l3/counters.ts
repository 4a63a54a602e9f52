/** MCounter_Init / _Update / _Get (User API 4.2 Tables 34-36): 16 monotonic counters. */
import { readU32le, u32le } from '../../bytes.js';
import { L3_CMD, L3_RESULT, LIMITS } from '../../protocol/l3.js';
import { MCOUNTER_UNSET } from '../chip-state.js';
import { L3Fail, fail, none, pad3, type L3Command } from './command.js';

const slot = { count: LIMITS.MCOUNTERS, noun: 'counter' };

export const COUNTER_COMMANDS: Record<number, L3Command> = {
  [L3_CMD.MCOUNTER_INIT]: {
    size: [7, 7],
    slot,
    uap: { register: 'CFG_UAP_MCOUNTER_INIT', field: 'perSlot', span: 4 },
    run: (chip, d, i) => {
      const v = readU32le(d, 3);
      if (v > LIMITS.MCOUNTER_MAX) fail(`initial value 0x${v.toString(16)} above 0xfffffffe`);
      chip.memory.mcounters[i] = v;
      return none;
    },
  },
  [L3_CMD.MCOUNTER_UPDATE]: {
    size: [2, 2],
    slot,
    uap: { register: 'CFG_UAP_MCOUNTER_UPDATE', field: 'perSlot', span: 4 },
    run: (chip, _d, i) => {
      const v = chip.memory.mcounters[i];
      if (v === MCOUNTER_UNSET) throw new L3Fail(L3_RESULT.COUNTER_INVALID, `counter ${i} not initialized`);
      if (v === 0) throw new L3Fail(L3_RESULT.UPDATE_ERR, `counter ${i} is at 0`);
      chip.memory.mcounters[i] = v - 1;
      return none;
    },
  },
  [L3_CMD.MCOUNTER_GET]: {
    size: [2, 2],
    slot,
    uap: { register: 'CFG_UAP_MCOUNTER_GET', field: 'perSlot', span: 4 },
    run: (chip, _d, i) => {
      const v = chip.memory.mcounters[i];
      if (v === MCOUNTER_UNSET) throw new L3Fail(L3_RESULT.COUNTER_INVALID, `counter ${i} not initialized`);
      return pad3(u32le(v));
    },
  },
};
