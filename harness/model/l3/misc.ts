/** Ping, Random_Value_Get and MAC_And_Destroy (User API 4.2 Tables 15, 27, 37). */
import { kmac256 } from '@noble/hashes/sha3-addons';
import { concat } from '../../bytes.js';
import { L3_CMD, LIMITS } from '../../protocol/l3.js';
import { pad3, type L3Command } from './command.js';

const MACANDD_CUSTOM = new TextEncoder().encode('My Tagged Application');
const kmac = (key: Uint8Array, msg: Uint8Array): Uint8Array => kmac256(key, msg, { dkLen: 32, personalization: MACANDD_CUSTOM });

export const MISC_COMMANDS: Record<number, L3Command> = {
  [L3_CMD.PING]: {
    size: [0, LIMITS.PING_MAX],
    uap: { register: 'CFG_UAP_PING', field: 'fixed' },
    run: (_chip, d) => Uint8Array.from(d),
  },
  [L3_CMD.RANDOM_VALUE_GET]: {
    size: [1, 1],
    uap: { register: 'CFG_UAP_RANDOM_VALUE_GET', field: 'fixed' },
    run: (chip, d) => pad3(chip.random(d[0])),
  },
  [L3_CMD.MAC_AND_DESTROY]: {
    size: [35, 35],
    slot: { count: LIMITS.MAC_AND_DESTROY_SLOTS, noun: 'MAC-and-Destroy slot' },
    uap: { register: 'CFG_UAP_MAC_AND_DESTROY', field: 'perSlot', span: 32 },
    run: (chip, d, slot) => {
      const slotByte = Uint8Array.of(slot & 0xff);
      const m = chip.memory;
      const old = m.macAndDestroySlots[slot];
      const fresh = kmac(m.macAndDestroyKeys[1], concat(d.slice(3, 35), slotByte));
      m.macAndDestroySlots[slot] = fresh;
      return pad3(kmac(m.macAndDestroyKeys[2], concat(old, fresh, slotByte)));
    },
  },
};
