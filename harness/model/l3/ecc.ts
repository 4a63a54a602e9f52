/** ECC_Key_Generate / _Store / _Read / _Erase, ECDSA_Sign, EDDSA_Sign (User API 4.2 Tables 28-33). */
import { concat } from '../../bytes.js';
import { L3_CMD, L3_RESULT, LIMITS } from '../../protocol/l3.js';
import type { EccKeySlot } from '../chip-state.js';
import { ecdsaSign, eddsaSign, ed25519Setup, p256Setup, p256ValidPrivate } from '../ecc.js';
import type { TropicModel } from '../chip.js';
import { L3Fail, fail, none, type L3Command } from './command.js';

const slot = { count: LIMITS.ECC_SLOTS, noun: 'ECC slot' };
const uap = (register: string) => ({ register, field: 'perSlot' as const, span: 8 });

function eccKey(chip: TropicModel, i: number): EccKeySlot {
  const k = chip.memory.ecc[i];
  if (!k) throw new L3Fail(L3_RESULT.INVALID_KEY, `ECC slot ${i} is empty`);
  return k;
}

function checkCurve(chip: TropicModel, i: number, curve: number): void {
  if (curve !== 1 && curve !== 2) fail(`curve 0x${curve.toString(16)} unknown`);
  if (chip.memory.ecc[i]) fail(`ECC slot ${i} already holds a key`);
}

export const ECC_COMMANDS: Record<number, L3Command> = {
  [L3_CMD.ECC_KEY_GENERATE]: {
    size: [3, 3],
    slot,
    uap: uap('CFG_UAP_ECC_KEY_GENERATE'),
    run: (chip, d, i) => {
      checkCurve(chip, i, d[2]);
      chip.memory.ecc[i] = d[2] === 1 ? p256Setup(chip.random(32), 1) : ed25519Setup(chip.random(32), 1);
      return none;
    },
  },
  [L3_CMD.ECC_KEY_STORE]: {
    size: [47, 47],
    slot,
    uap: uap('CFG_UAP_ECC_KEY_STORE'),
    run: (chip, d, i) => {
      checkCurve(chip, i, d[2]);
      const k = d.slice(15, 47);
      if (d[2] === 1 && !p256ValidPrivate(k)) fail('P-256 private key out of range 1..n-1');
      chip.memory.ecc[i] = d[2] === 1 ? p256Setup(k, 2) : ed25519Setup(k, 2);
      return none;
    },
  },
  [L3_CMD.ECC_KEY_READ]: {
    size: [2, 2],
    slot,
    uap: uap('CFG_UAP_ECC_KEY_READ'),
    run: (chip, _d, i) => {
      const k = eccKey(chip, i);
      return concat(Uint8Array.of(k.curve === 'P256' ? 1 : 2, k.origin), new Uint8Array(13), k.publicKey);
    },
  },
  [L3_CMD.ECC_KEY_ERASE]: {
    size: [2, 2],
    slot,
    uap: uap('CFG_UAP_ECC_KEY_ERASE'),
    run: (chip, _d, i) => {
      chip.memory.ecc[i] = undefined;
      return none;
    },
  },
  [L3_CMD.ECDSA_SIGN]: {
    size: [47, 47],
    slot,
    uap: uap('CFG_UAP_ECDSA_SIGN'),
    run: (chip, d, i) => {
      const k = eccKey(chip, i);
      if (k.curve !== 'P256') throw new L3Fail(L3_RESULT.INVALID_KEY, `ECC slot ${i} holds an Ed25519 key`);
      const sig = ecdsaSign(k, d.slice(15, 47), ...chip.sessionBinding());
      return concat(new Uint8Array(15), sig.r, sig.s);
    },
  },
  [L3_CMD.EDDSA_SIGN]: {
    size: [15, 15 + LIMITS.EDDSA_MSG_MAX],
    slot,
    uap: uap('CFG_UAP_EDDSA_SIGN'),
    run: (chip, d, i) => {
      const k = eccKey(chip, i);
      if (k.curve !== 'ED25519') throw new L3Fail(L3_RESULT.INVALID_KEY, `ECC slot ${i} holds a P-256 key`);
      const sig = eddsaSign(k, d.slice(15), ...chip.sessionBinding());
      return concat(new Uint8Array(15), sig.r, sig.s);
    },
  },
};
