/** Pairing_Key_Write / _Read / _Invalidate (User API 4.2 Tables 16-18): blank, written, invalidated slots. */
import { L3_CMD, L3_RESULT, LIMITS } from '../../protocol/l3.js';
import { L3Fail, fail, none, pad3, type L3Command } from './command.js';

const slot = { count: LIMITS.PAIRING_SLOTS, noun: 'pairing slot' };

export const PAIRING_COMMANDS: Record<number, L3Command> = {
  [L3_CMD.PAIRING_KEY_WRITE]: {
    size: [35, 35],
    slot,
    uap: { register: 'CFG_UAP_PAIRING_KEY_WRITE', field: 'perSlot', span: 1 },
    run: (chip, d, i) => {
      const p = chip.memory.pairing[i];
      if (p.state !== 'blank') fail(`pairing slot ${i} is ${p.state}`);
      chip.memory.pairing[i] = { state: 'written', value: d.slice(3, 35) };
      return none;
    },
  },
  [L3_CMD.PAIRING_KEY_READ]: {
    size: [2, 2],
    slot,
    uap: { register: 'CFG_UAP_PAIRING_KEY_READ', field: 'perSlot', span: 1 },
    run: (chip, _d, i) => {
      const p = chip.memory.pairing[i];
      if (p.state === 'blank') throw new L3Fail(L3_RESULT.SLOT_EMPTY, `pairing slot ${i} is empty`);
      if (p.state === 'invalid') throw new L3Fail(L3_RESULT.SLOT_INVALID, `pairing slot ${i} is invalidated`);
      return pad3(p.value);
    },
  },
  [L3_CMD.PAIRING_KEY_INVALIDATE]: {
    size: [2, 2],
    slot,
    uap: { register: 'CFG_UAP_PAIRING_KEY_INVALIDATE', field: 'perSlot', span: 1 },
    run: (chip, _d, i) => {
      if (chip.memory.pairing[i].state === 'blank') fail(`pairing slot ${i} is blank`);
      chip.memory.pairing[i] = { state: 'invalid', value: new Uint8Array(0) };
      return none;
    },
  },
};
