/** Small byte helpers shared by every layer. */
export function hex(data: Uint8Array, sep = ''): string {
  // Buffer's native encoder: frame logs convert every exchange, and a per-byte map showed in profiles.
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
  return sep ? (text.match(/../g) ?? []).join(sep) : text;
}

export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new TypeError(`not a hex string: ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function u16le(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff);
}

export function u32le(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, true);
  return out;
}

export function readU16le(b: Uint8Array, off = 0): number {
  return b[off] | (b[off + 1] << 8);
}

export function readU32le(b: Uint8Array, off = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

export function byteName(table: Record<number, string>, value: number): string {
  return table[value] ?? `UNKNOWN_0x${value.toString(16).padStart(2, '0')}`;
}
