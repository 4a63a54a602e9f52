/** The chip's current state as a ts-tvl model configuration (for --configuration-out). */
import { CONFIG_REGISTERS } from '../protocol/config-objects.js';
import { MCOUNTER_UNSET } from './chip-state.js';
import type { TropicModel } from './chip.js';

export function snapshotConfig(chip: TropicModel): Record<string, unknown> {
  const m = chip.memory;
  const cfg = chip.config;
  const configObject = (space: typeof m.rConfig) => Object.fromEntries(CONFIG_REGISTERS.map((r) => [r.name.toLowerCase(), space.read(r.address)]));
  const out: Record<string, unknown> = {
    s_t_priv: cfg.sTPriv,
    s_t_pub: cfg.sTPub,
    x509_certificate: cfg.x509Certificate,
    chip_id: cfg.chipId,
    riscv_fw_version: cfg.riscvFwVersion,
    spect_fw_version: cfg.spectFwVersion,
    activate_encryption: cfg.activateEncryption,
    init_byte: Uint8Array.of(cfg.initByte),
    i_pairing_keys: Object.fromEntries(m.pairing.map((p, i) => [i, p.state === 'written' ? { value: p.value, state: p.state } : { state: p.state }])),
    r_config: configObject(m.rConfig),
    i_config: configObject(m.iConfig),
    r_user_data: Object.fromEntries(m.userData.flatMap((s, i) => (s.free ? [] : [[i, { free: false, value: s.value }]]))),
    r_mcounters: Object.fromEntries(Array.from(m.mcounters).flatMap((v, i) => (v === MCOUNTER_UNSET ? [] : [[i, { value: v }]]))),
    r_ecc_keys: Object.fromEntries(
      m.ecc.flatMap((k, i) =>
        !k ? [] : [[i, k.curve === 'P256' ? { d: k.secret, w: k.aux, a: k.publicKey, origin: k.origin } : { s: k.aux, prefix: k.prefix, a: k.publicKey, origin: k.origin }]],
      ),
    ),
    r_macandd_data: {
      slots: Object.fromEntries(m.macAndDestroySlots.map((v, i) => [i, { value: v }])),
      keys: { 1: { value: m.macAndDestroyKeys[1] }, 2: { value: m.macAndDestroyKeys[2] } },
    },
  };
  if (cfg.busyIter) out.busy_iter = cfg.busyIter;
  if (cfg.debugRandomValue) out.debug_random_value = cfg.debugRandomValue;
  return out;
}
