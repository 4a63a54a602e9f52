/** R_Config_Write / _Read / _Erase and I_Config_Write / _Read (User API 4.2 Tables 19-23). */
import { readU32le, u32le } from '../../bytes.js';
import { L3_CMD } from '../../protocol/l3.js';
import { fail, none, pad3, type L3Command } from './command.js';

export const CONFIG_COMMANDS: Record<number, L3Command> = {
  [L3_CMD.R_CONFIG_WRITE]: {
    size: [7, 7],
    uap: { register: 'CFG_UAP_R_CONFIG_WRITE_ERASE', field: 'fixed' },
    address: true,
    run: (chip, d, address) => {
      if (!chip.memory.rConfig.isErased(address)) fail(`R-config 0x${address.toString(16)} already written; erase first`);
      chip.memory.rConfig.write(address, readU32le(d, 3));
      return none;
    },
  },
  [L3_CMD.R_CONFIG_READ]: {
    size: [2, 2],
    address: true,
    uap: { register: 'CFG_UAP_R_CONFIG_READ', field: 'perAddressBlock' },
    run: (chip, _d, address) => pad3(u32le(chip.memory.rConfig.read(address))),
  },
  [L3_CMD.R_CONFIG_ERASE]: {
    size: [0, 0],
    uap: { register: 'CFG_UAP_R_CONFIG_WRITE_ERASE', field: 'fixed' },
    run: (chip) => (chip.memory.rConfig.erase(), none),
  },
  [L3_CMD.I_CONFIG_WRITE]: {
    size: [3, 3],
    address: true,
    uap: { register: 'CFG_UAP_I_CONFIG_WRITE', field: 'perAddressBlock' },
    run: (chip, d, address) => {
      const bit = d[2];
      if (bit > 31) fail(`bit index ${bit} out of 0..31`);
      chip.memory.iConfig.write(address, chip.memory.iConfig.read(address) & ~(1 << bit));
      return none;
    },
  },
  [L3_CMD.I_CONFIG_READ]: {
    size: [2, 2],
    address: true,
    uap: { register: 'CFG_UAP_I_CONFIG_READ', field: 'perAddressBlock' },
    run: (chip, _d, address) => pad3(u32le(chip.memory.iConfig.read(address))),
  },
};
