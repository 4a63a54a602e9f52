/**
 * A chip's identity as a qualification records it: every CHIP_ID field, serial and part number,
 * RISC-V and SPECT FW versions, the FW bank headers where the chip answers them (Get_Info FW_BANK
 * is a bootloader request: in application mode a chip refuses it, which is recorded), and the
 * certificate store. Read-only requests, no secure session.
 */
import { hex } from '../../bytes.js';
import { RigError } from '../../errors.js';
import { TropicSquare } from '../../driver/tropic-square.js';
import { TcpTransport } from '../../transport/tcp-transport.js';
import { parseRigUrl } from '../pool/inventory.js';

const FW_BANK_OBJECT = 0xb0;
const FW_BANKS = { riscv1: 0x01, riscv2: 0x02, spect1: 0x11, spect2: 0x12 } as const;

export interface ChipIdentityRecord {
  serial: string;
  partNumber: string;
  riscvFw: string;
  spectFw: string;
  chipId: {
    chipIdVersion: string;
    siliconRev: string;
    packageTypeId: string;
    provVerFabIdPn: string;
    provisioningDate: string;
    hsmVersion: string;
    programmerVersion: string;
    serialNumber: { sn: number; fabData: string; fabDate: number; lotId: string; waferId: number; xCoord: number; yCoord: number };
    partNumberData: string;
    provTemplateVersion: string;
    provTemplateTag: string;
    provSpecVersion: string;
    provSpecTag: string;
    batchId: string;
    raw: string;
  };
  /** Per bank: the header (hex) or why it could not be read. */
  fwBanks: Record<keyof typeof FW_BANKS, { header?: string; unreadable?: string }>;
  /** DER certificates of the store, device first. */
  certificates: Uint8Array[];
  certStoreVersion: number;
}

export interface ReadIdentityOptions {
  connectTimeoutMs?: number;
  ioTimeoutMs?: number;
  pollDelayMs?: number;
  responseTimeoutMs?: number;
}

export async function readChipIdentity(url: string, o: ReadIdentityOptions = {}): Promise<ChipIdentityRecord> {
  const ep = parseRigUrl(url);
  if (ep.scheme !== 'tcp') throw new RigError(`rig ${url}: qualification reads chips over tcp:// only in this build (no TLS transport)`, 'TH_QUALIFY');
  const transport = await TcpTransport.connect({ host: ep.host, port: ep.port, connectTimeoutMs: o.connectTimeoutMs ?? 5000, ioTimeoutMs: o.ioTimeoutMs ?? 5000 });
  try {
    const ts = new TropicSquare(transport, { pollDelayMs: o.pollDelayMs ?? 0, responseTimeoutMs: o.responseTimeoutMs ?? 10_000 });
    const id = await ts.chipId();
    const riscv = await ts.riscvFwVersion();
    const spect = await ts.spectFwVersion();
    const store = await ts.certificateStore();
    const fwBanks = {} as ChipIdentityRecord['fwBanks'];
    for (const [name, index] of Object.entries(FW_BANKS) as [keyof typeof FW_BANKS, number][]) {
      try {
        fwBanks[name] = { header: hex(await ts.getInfo(FW_BANK_OBJECT, index)) };
      } catch (e) {
        fwBanks[name] = { unreadable: (e as Error).message };
      }
    }
    const sn = id.serialNumber;
    return {
      serial: id.serial,
      partNumber: id.partNumber,
      riscvFw: riscv.text,
      spectFw: spect.text,
      chipId: {
        chipIdVersion: hex(id.chipIdVersion),
        siliconRev: id.siliconRev,
        packageTypeId: `0x${id.packageTypeId.toString(16).padStart(4, '0')}`,
        provVerFabIdPn: hex(id.provVerFabIdPn),
        provisioningDate: hex(id.provisioningDate),
        hsmVersion: hex(id.hsmVersion),
        programmerVersion: hex(id.programmerVersion),
        serialNumber: { sn: sn.sn, fabData: hex(sn.fabData), fabDate: sn.fabDate, lotId: hex(sn.lotId), waferId: sn.waferId, xCoord: sn.xCoord, yCoord: sn.yCoord },
        partNumberData: hex(id.partNumberData),
        provTemplateVersion: hex(id.provTemplateVersion),
        provTemplateTag: hex(id.provTemplateTag),
        provSpecVersion: hex(id.provSpecVersion),
        provSpecTag: hex(id.provSpecTag),
        batchId: hex(id.batchId),
        raw: hex(id.raw),
      },
      fwBanks,
      certificates: store.certificates,
      certStoreVersion: store.version,
    };
  } finally {
    await transport.close();
  }
}
