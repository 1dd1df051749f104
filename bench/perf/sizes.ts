// Message sizes as nccl-tests spells and steps them: `-b 8 -e 128M -f 2`.

const SUFFIX_BYTES: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Parses "8", "64K", "128M", "1G" (binary multiples, case-insensitive, optional trailing B). */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text.trim());
  if (match === null) throw new Error(`"${text}" is not a size in bytes (examples: 8, 64K, 128M, 1G)`);
  const bytes = Number(match[1]) * SUFFIX_BYTES[match[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes)) throw new Error(`"${text}" is not a whole number of bytes`);
  return bytes;
}

/** "8 B", "64 KiB", "1.5 MiB": for human-facing labels (the table itself prints plain bytes). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

export interface SizeSweep {
  readonly minBytes: number;
  readonly maxBytes: number;
  /** Multiply by this when it is above 1 ... */
  readonly stepFactor: number;
  /** ... otherwise add this (nccl-tests' rule). */
  readonly stepBytes: number;
}

export function sweepSizes(sweep: SizeSweep): number[] {
  const { minBytes, maxBytes, stepFactor, stepBytes } = sweep;
  if (minBytes > maxBytes) throw new Error(`min bytes (${minBytes}) is above max bytes (${maxBytes})`);
  if (stepFactor <= 1 && stepBytes <= 0) throw new Error('the sweep never advances: give -f above 1 or -i above 0');
  if (stepFactor > 1 && minBytes === 0) throw new Error('a sweep from 0 bytes never grows by a factor: start -b at 1 or more');
  const sizes: number[] = [];
  for (let size = minBytes; size <= maxBytes; size = stepFactor > 1 ? size * stepFactor : size + stepBytes) {
    sizes.push(size);
  }
  return sizes;
}
