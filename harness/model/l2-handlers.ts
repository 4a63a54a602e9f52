/** One handler per L2 request (User API 4.1 Tables 7-14), after the frame's CRC and REQ_LEN checks. */
import { concat } from '../bytes.js';
import { CERT_BLOCK_SIZE, GET_INFO_OBJECT, L2_REQ, L2_STATUS, SLEEP_KIND, STARTUP_ID, encodeResponse } from '../protocol/l2.js';
import { REGISTER_BY_NAME } from '../protocol/config-objects.js';
import { SessionCipher, deriveSession, x25519Public, x25519Shared } from '../protocol/session.js';
import type { TropicModel } from './chip.js';

export type L2Handler = (chip: TropicModel, data: Uint8Array) => Uint8Array[] | 'resend';

const ok = (data?: Uint8Array): Uint8Array[] => [encodeResponse(L2_STATUS.REQ_OK, data)];
const status = (s: number): Uint8Array[] => [encodeResponse(s)];
const padTo = (b: Uint8Array, n: number): Uint8Array => {
  const out = new Uint8Array(n);
  out.set(b.subarray(0, n));
  return out;
};
const configBit0 = (chip: TropicModel, register: string): number => chip.effectiveConfig.read(REGISTER_BY_NAME.get(register)!.address) & 1;

function handshake(chip: TropicModel, d: Uint8Array): Uint8Array[] {
  // Start-up Mode (maintenance restart) runs no handshake: the chip does not know the request.
  if (chip.faults.settings.startupMode) return status(L2_STATUS.UNKNOWN_REQ);
  const ehPub = d.subarray(0, 32);
  const slot = d[32];
  if (slot > 3 || chip.memory.pairing[slot].state !== 'written') {
    chip.log('info', `handshake on pairing slot ${slot}: slot ${slot > 3 ? 'out of range' : chip.memory.pairing[slot].state}`);
    return status(L2_STATUS.HSK_ERR);
  }
  const shPub = chip.memory.pairing[slot].value;
  const etPriv = chip.random(32);
  const etPub = x25519Public(etPriv);
  let ehEt: Uint8Array, shEt: Uint8Array, ehSt: Uint8Array;
  try {
    ehEt = x25519Shared(etPriv, ehPub);
    shEt = x25519Shared(etPriv, shPub);
    ehSt = x25519Shared(chip.config.sTPriv, ehPub);
  } catch (e) {
    // a low-order host key gives an all-zero shared secret: refuse the handshake
    chip.log('info', `handshake refused: ${(e as Error).message}`);
    chip.invalidateSession();
    return status(L2_STATUS.HSK_ERR);
  }
  const keys = deriveSession({ pairingSlot: slot, shPub, stPub: chip.config.sTPub, ehPub, etPub, ehEt, shEt, ehSt });
  chip.cipher = new SessionCipher(keys);
  chip.pairingSlot = slot;
  chip.log('info', `secure session established on pairing slot ${slot}`);
  return ok(concat(etPub, keys.tAuth));
}

export const L2_HANDLERS: Readonly<Record<number, L2Handler>> = {
  [L2_REQ.GET_INFO]: (chip, d) => {
    const [obj, block] = d;
    switch (obj) {
      case GET_INFO_OBJECT.X509_CERTIFICATE:
        if (block > 29) return status(L2_STATUS.GEN_ERR);
        return ok(padTo(chip.config.x509Certificate.subarray(block * CERT_BLOCK_SIZE, (block + 1) * CERT_BLOCK_SIZE), CERT_BLOCK_SIZE));
      case GET_INFO_OBJECT.CHIP_ID:
        return ok(padTo(chip.config.chipId, 128));
      case GET_INFO_OBJECT.RISCV_FW_VERSION:
        return ok(padTo(chip.config.riscvFwVersion, 4));
      case GET_INFO_OBJECT.SPECT_FW_VERSION:
        return ok(padTo(chip.config.spectFwVersion, 4));
      default:
        return status(L2_STATUS.GEN_ERR);
    }
  },
  [L2_REQ.HANDSHAKE]: handshake,
  [L2_REQ.ENCRYPTED_CMD]: (chip, d) => chip.encryptedCommand(d),
  [L2_REQ.ENCRYPTED_SESSION_ABT]: (chip) => {
    chip.invalidateSession();
    chip.resetCommandBuffer();
    return ok();
  },
  [L2_REQ.RESEND]: (chip) => (chip.spi.latestResponse.length ? 'resend' : status(L2_STATUS.GEN_ERR)),
  [L2_REQ.SLEEP]: (chip, d) => {
    if (d[0] !== SLEEP_KIND.SLEEP_MODE) return status(L2_STATUS.GEN_ERR);
    if (configBit0(chip, 'CFG_SLEEP_MODE') === 0) return status(L2_STATUS.RESP_DISABLED);
    chip.invalidateSession();
    chip.resetCommandBuffer();
    return ok();
  },
  [L2_REQ.STARTUP]: (chip, d) => {
    if (d[0] !== STARTUP_ID.REBOOT && d[0] !== STARTUP_ID.MAINTENANCE_REBOOT) return status(L2_STATUS.GEN_ERR);
    chip.restart();
    // a regular restart leaves Start-up Mode (datasheet 6.6)
    if (d[0] === STARTUP_ID.REBOOT) chip.faults.endStartupMode();
    return ok();
  },
  [L2_REQ.GET_LOG]: (chip) => {
    if (configBit0(chip, 'CFG_DEBUG') === 0) return status(L2_STATUS.RESP_DISABLED);
    return ok();
  },
};
