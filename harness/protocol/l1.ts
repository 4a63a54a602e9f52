/** L1: the CHIP_STATUS byte the chip clocks out on the first byte of every transfer (datasheet Table 7). */
export const CHIP_STATUS = { READY: 0x01, ALARM: 0x02, START: 0x04 } as const;

export interface ChipStatus {
  raw: number;
  ready: boolean;
  alarm: boolean;
  startup: boolean;
}

export function decodeChipStatus(raw: number): ChipStatus {
  return {
    raw,
    ready: (raw & CHIP_STATUS.READY) !== 0,
    alarm: (raw & CHIP_STATUS.ALARM) !== 0,
    startup: (raw & CHIP_STATUS.START) !== 0,
  };
}

export function describeChipStatus(raw: number): string {
  const s = decodeChipStatus(raw);
  const bits = [s.ready && 'READY', s.alarm && 'ALARM', s.startup && 'START'].filter(Boolean);
  return `0x${raw.toString(16).padStart(2, '0')}${bits.length ? ` (${bits.join('|')})` : ' (not ready)'}`;
}
