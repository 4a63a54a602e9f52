/** The chip's memories as the model configuration (ts-tvl YAML) initialises them. */
import { ModelError } from '../errors.js';
import { REGISTER_BY_NAME } from '../protocol/config-objects.js';
import type { ChipMemory } from './chip-state.js';
import type { ModelConfig } from './model-config.js';

export function loadPartitions(m: ChipMemory, cfg: ModelConfig): void {
  const raw = cfg.raw;
  for (const [k, v] of Object.entries(raw.i_pairing_keys ?? {})) {
    const i = Number(k);
    if (!(i >= 0 && i <= 3)) throw new ModelError(`${cfg.source}: i_pairing_keys.${k}: slot out of range 0..3`, 'TH_MODEL_CONFIG');
    const state = v.state ?? (v.value ? 'written' : 'blank');
    m.pairing[i] = { state, value: state === 'written' ? (v.value ?? new Uint8Array(32)) : new Uint8Array(0) };
  }
  for (const [space, obj] of [
    [m.rConfig, raw.r_config],
    [m.iConfig, raw.i_config],
  ] as const) {
    for (const [name, value] of Object.entries(obj ?? {})) space.write(REGISTER_BY_NAME.get(name.toUpperCase())!.address, value);
  }
  for (const [k, v] of Object.entries(raw.r_user_data ?? {})) m.userData[Number(k)] = { free: v.free ?? false, value: v.value };
  for (const [k, v] of Object.entries(raw.r_mcounters ?? {})) m.mcounters[Number(k)] = v.value;
  for (const [k, v] of Object.entries(raw.r_macandd_data?.slots ?? {})) m.macAndDestroySlots[Number(k)] = v.value;
  for (const [k, v] of Object.entries(raw.r_macandd_data?.keys ?? {})) m.macAndDestroyKeys[Number(k)] = v.value;
  for (const [k, v] of Object.entries(raw.r_ecc_keys ?? {})) {
    m.ecc[Number(k)] =
      'd' in v
        ? { curve: 'P256', origin: v.origin, secret: v.d, publicKey: v.a, aux: v.w }
        : { curve: 'ED25519', origin: v.origin, secret: new Uint8Array(0), publicKey: v.a, aux: v.s, prefix: v.prefix };
  }
}
