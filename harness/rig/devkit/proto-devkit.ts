/**
 * The DevKit's framed firmware (protobuf messages in AA 55 / 55 AA frames, see devkit-frame.ts and
 * devkit.proto), driven the way libtropic's host port does (hal/posix/usb_devkit at bbf9647):
 * auto chip-select mode off once at start, then SetCs / SendSpiData per L1 frame. Unlike libtropic
 * the bridge also uses SetTr01Pwr (POWER_ON/POWER_OFF) and GetGpo.
 *
 * Every answer is checked: magic, DATA_LEN bounds, CRC (TH_DEVKIT_CRC), protobuf decoding and the
 * response kind (TH_DEVKIT_PROTOCOL), ErrorResp and result codes other than OK (TH_DEVKIT).
 */
import { RigError } from '../../errors.js';
import type { SerialLink } from './serial-link.js';
import { DEFAULT_DEVKIT_TIMEOUTS, type DevkitProtocol, type DevkitTimeouts } from './protocol.js';
import { DEVKIT_MAGIC, FRAME_DATA_MAX, HOST_MAGIC, encodeDevkitFrame, frameCrc } from './devkit-frame.js';
import { decodeResp, encodeCmd, type RawCmd, type RawKind, type RawResp, type UsbDevkitResp } from './devkit-messages.js';

const OK_CODE: Record<RawKind, string> = {
  sendSpiData: 'SEND_SPI_DATA_RESP_CODE_OK',
  setAutoCsMode: 'SET_AUTO_CS_MODE_RESP_CODE_OK',
  setCs: 'SET_CS_RESP_CODE_OK',
  setTr01Pwr: 'SET_TR01_PWR_RESP_CODE_OK',
  getGpo: 'GET_GPO_RESP_CODE_OK',
};

export class ProtoDevkit implements DevkitProtocol {
  readonly firmware = 'proto' as const;

  constructor(private readonly link: SerialLink, private readonly timeouts: DevkitTimeouts = DEFAULT_DEVKIT_TIMEOUTS) {}

  /** Turn auto chip-select off: the bridge drives chip select per tagged message. */
  async init(): Promise<void> {
    await this.raw('setAutoCsMode', { setAutoCsMode: { on: false } });
  }

  async csnLow(): Promise<void> {
    await this.raw('setCs', { setCs: { high: false } });
  }

  async csnHigh(): Promise<void> {
    await this.raw('setCs', { setCs: { high: true } });
  }

  async transfer(tx: Uint8Array): Promise<Uint8Array> {
    const r = await this.raw('sendSpiData', { sendSpiData: { txData: tx, timeoutMs: this.timeouts.spiMs } });
    const rx = r.sendSpiData?.rxData ?? new Uint8Array(0);
    if (rx.length !== tx.length)
      throw new RigError(`DevKit clocked back ${rx.length} bytes for a ${tx.length}-byte SPI transfer`, 'TH_DEVKIT_PROTOCOL', { expected: `${tx.length} bytes`, frame: rx });
    return rx;
  }

  async power(on: boolean): Promise<boolean> {
    await this.raw('setTr01Pwr', { setTr01Pwr: { on } });
    return true;
  }

  async gpo(): Promise<boolean> {
    return (await this.raw('getGpo', { getGpo: {} })).getGpo?.high ?? false;
  }

  async resync(): Promise<void> {
    await this.link.discardInput();
  }

  /** Send one raw command, return its checked response. */
  private async raw(kind: RawKind, cmd: RawCmd): Promise<RawResp> {
    const what = `${kind} command`;
    await this.link.write(encodeDevkitFrame(HOST_MAGIC, encodeCmd({ raw: cmd })));
    const resp = await this.receive(what);
    if (resp.error) throw new RigError(`DevKit answered the ${what} with ErrorResp ${resp.error.resCode ?? 'ERROR_RESP_CODE_UNSPECIFIED'}`, 'TH_DEVKIT');
    const r = resp.raw?.[kind];
    if (!resp.raw || !r) throw new RigError(`DevKit answered the ${what} with ${JSON.stringify(Object.keys(resp.raw ?? resp))}`, 'TH_DEVKIT_PROTOCOL', { expected: `RawResp.${kind}` });
    const code = r.resCode ?? `${OK_CODE[kind].replace(/_OK$/, '')}_UNSPECIFIED`;
    if (code !== OK_CODE[kind]) throw new RigError(`DevKit refused the ${what}: ${code}`, 'TH_DEVKIT');
    return resp.raw;
  }

  /** One response frame: 55 AA, DATA_LEN, DATA, CRC. */
  async receive(what: string): Promise<UsbDevkitResp> {
    const t = this.timeouts.replyMs;
    const magic = await this.link.readExact(2, `the magic bytes answering the ${what}`, t);
    if (magic[0] !== DEVKIT_MAGIC[0] || magic[1] !== DEVKIT_MAGIC[1])
      throw new RigError(`DevKit answered the ${what} with bytes that are not a frame`, 'TH_DEVKIT_PROTOCOL', { expected: 'magic 55 AA', frame: magic });
    const len = await this.link.readExact(2, `DATA_LEN answering the ${what}`, t);
    const n = (len[0] << 8) | len[1];
    if (n === 0 || n > FRAME_DATA_MAX) throw new RigError(`DevKit frame answering the ${what} declares DATA_LEN ${n}`, 'TH_DEVKIT_PROTOCOL', { expected: `1..${FRAME_DATA_MAX}`, frame: len });
    const rest = await this.link.readExact(n + 2, `the ${n} data bytes and CRC answering the ${what}`, t);
    const lengthAndData = new Uint8Array(2 + n);
    lengthAndData.set(len, 0);
    lengthAndData.set(rest.subarray(0, n), 2);
    const crc = frameCrc(lengthAndData);
    if (crc[0] !== rest[n] || crc[1] !== rest[n + 1])
      throw new RigError(`DevKit frame answering the ${what} has a bad CRC`, 'TH_DEVKIT_CRC', {
        expected: `CRC ${Buffer.from(crc).toString('hex')}, got ${Buffer.from(rest.subarray(n)).toString('hex')}`,
        frame: lengthAndData,
      });
    try {
      return decodeResp(rest.subarray(0, n));
    } catch (e) {
      throw new RigError(`DevKit frame answering the ${what} is not a UsbDevkitResp: ${(e as Error).message}`, 'TH_DEVKIT_PROTOCOL', { frame: rest.subarray(0, n), cause: e });
    }
  }
}
