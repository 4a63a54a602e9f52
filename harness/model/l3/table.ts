/**
 * The L3 command table and its dispatcher: size check, the declared preamble (slot range,
 * configuration address, UAP field), the command's own handler, then the result packet. A planted
 * `resultOverride` fault replaces the result here, after the command ran.
 */
import { concat } from '../../bytes.js';
import { L3_RESULT, commandName, resultName } from '../../protocol/l3.js';
import { ConfigSpace } from '../chip-state.js';
import type { TropicModel } from '../chip.js';
import { L3Fail, fail, u16, unauthorized, type L3Command } from './command.js';
import { CONFIG_COMMANDS } from './config.js';
import { COUNTER_COMMANDS } from './counters.js';
import { ECC_COMMANDS } from './ecc.js';
import { MEMORY_COMMANDS } from './memory.js';
import { MISC_COMMANDS } from './misc.js';
import { PAIRING_COMMANDS } from './pairing.js';

export const L3_COMMANDS: Readonly<Record<number, L3Command>> = {
  ...MISC_COMMANDS,
  ...PAIRING_COMMANDS,
  ...CONFIG_COMMANDS,
  ...MEMORY_COMMANDS,
  ...ECC_COMMANDS,
  ...COUNTER_COMMANDS,
};

/** The slot or address the command works on, after its preamble checks; throws L3Fail. */
function preamble(chip: TropicModel, id: number, spec: L3Command, data: Uint8Array): number {
  const name = commandName(id);
  const uap = spec.uap;
  if (uap?.field === 'fixed') chip.requireAccess(uap.register, uap.byte ?? 0, name);
  if (spec.slot) {
    const slot = u16(data);
    if (slot >= spec.slot.count) unauthorized(`${name}: ${spec.slot.noun} ${slot} out of range 0..${spec.slot.count - 1}`);
    if (uap?.field === 'perSlot') chip.requireAccess(uap.register, Math.floor(slot / uap.span), name);
    return slot;
  }
  if (spec.address) {
    const address = u16(data);
    const where = ConfigSpace.check(address);
    // The UAP field is chosen by the address, so only a valid address is checked against it.
    if (where === 'ok' && uap?.field === 'perAddressBlock') chip.requireAccess(uap.register, address >= 0x100 ? 1 : 0, name);
    if (where === 'range') unauthorized(`${name}: address 0x${address.toString(16)} out of range`);
    if (where === 'align') fail(`${name}: address 0x${address.toString(16)} not word-aligned`);
    return address;
  }
  return 0;
}

/** Run one plaintext L3 command (CMD_ID || CMD_DATA) and return the plaintext result packet. */
export function runL3Command(chip: TropicModel, plain: Uint8Array): Uint8Array {
  const id = plain[0];
  const spec = plain.length ? L3_COMMANDS[id] : undefined;
  if (!spec) {
    chip.log('info', `L3 command 0x${(id ?? 0).toString(16)} unknown`);
    return Uint8Array.of(L3_RESULT.INVALID_CMD);
  }
  const name = commandName(id);
  const data = plain.subarray(1);
  const [min, max] = typeof spec.size === 'function' ? spec.size(chip) : spec.size;
  if (data.length < min || data.length > max) {
    chip.log('info', `L3 ${name}: ${data.length} data bytes, expected ${min}..${max}`);
    return Uint8Array.of(L3_RESULT.FAIL);
  }
  let result: Uint8Array;
  try {
    const index = preamble(chip, id, spec, data);
    result = concat(Uint8Array.of(L3_RESULT.OK), spec.run(chip, data, index));
    chip.log('debug', `L3 ${name}: OK`);
  } catch (e) {
    if (!(e instanceof L3Fail)) throw e;
    chip.log('info', `L3 ${name}: result ${resultName(e.result)}: ${e.message}`);
    result = Uint8Array.of(e.result);
  }
  const planted = chip.faults.overriddenResult(id, spec.slot || spec.address ? u16(data) : undefined);
  if (planted === undefined) return result;
  chip.log('info', `fault resultOverride: L3 ${name} reports ${resultName(planted)} instead of ${resultName(result[0])}`);
  // The result byte changes; result data stays only on an OK that was OK anyway.
  return planted === L3_RESULT.OK && result[0] === L3_RESULT.OK ? result : Uint8Array.of(planted);
}
