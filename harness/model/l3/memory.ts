/** R_Mem_Data_Write / _Read / _Erase (User API 4.2 Tables 24-26): 512 User Data slots. */
import { L3_CMD, L3_RESULT, LIMITS } from '../../protocol/l3.js';
import { L3Fail, none, pad3, type L3Command } from './command.js';

const slot = { count: LIMITS.USER_DATA_SLOTS, noun: 'user data slot' };

export const MEMORY_COMMANDS: Record<number, L3Command> = {
  [L3_CMD.R_MEM_DATA_WRITE]: {
    size: (chip) => [4, 3 + chip.userDataSlotSize],
    slot,
    uap: { register: 'CFG_UAP_R_MEM_DATA_WRITE', field: 'perSlot', span: 128 },
    run: (chip, d, i) => {
      if (!chip.memory.userData[i].free) throw new L3Fail(L3_RESULT.SLOT_NOT_EMPTY, `user data slot ${i} already written`);
      chip.memory.userData[i] = { free: false, value: d.slice(3) };
      return none;
    },
  },
  [L3_CMD.R_MEM_DATA_READ]: {
    size: [2, 2],
    slot,
    uap: { register: 'CFG_UAP_R_MEM_DATA_READ', field: 'perSlot', span: 128 },
    run: (chip, _d, i) => {
      const s = chip.memory.userData[i];
      return pad3(s.free ? none : s.value);
    },
  },
  [L3_CMD.R_MEM_DATA_ERASE]: {
    size: [2, 2],
    slot,
    uap: { register: 'CFG_UAP_R_MEM_DATA_ERASE', field: 'perSlot', span: 128 },
    run: (chip, _d, i) => {
      chip.memory.userData[i] = { free: true, value: none };
      return none;
    },
  },
};
