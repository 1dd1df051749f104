// Inputs for the quantization codec suites: deterministic f32 values whose magnitude changes
// from block to block (so per-block scales differ), sprinkled with the values codecs must get
// right: ±0, subnormals, the largest value below a power of two, and, when asked, NaN and ±Inf.
// No GPU import: the CPU suites use it too and must run without an adapter.

/** Deterministic pseudo-random 32-bit words (mulberry32). */
export function seededWords(count: number, seed: number): Uint32Array {
  const out = new Uint32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) >>> 0;
  }
  return out;
}

export interface InputOptions {
  /** Elements per magnitude band (the codec's block size, or anything). */
  readonly band?: number;
  /** Include NaN and ±Inf (each poisons its block). */
  readonly nonFinite?: boolean;
}

const SPECIALS = [0, -0, 2 ** -149, -(2 ** -140), 2 ** -126, 1 - 2 ** -24, -(2 ** 100) * (1 - 2 ** -24), 0.5, -3];

export function codecInputs(count: number, seed: number, options: InputOptions = {}): Float32Array {
  const band = options.band ?? 64;
  const words = seededWords(count + Math.ceil(count / band) + 1, seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const bandExponent = (words[count + Math.floor(i / band)]! % 80) - 40; // 2^-40 .. 2^39
    const word = words[i]!;
    const unit = (word >>> 8) / 2 ** 24; // [0, 1)
    out[i] = (word & 1 ? -1 : 1) * unit * 2 ** bandExponent;
    if (word % 97 === 0) out[i] = SPECIALS[(word >>> 7) % SPECIALS.length]!;
    if (options.nonFinite && word % 1009 === 0) out[i] = [NaN, Infinity, -Infinity][(word >>> 5) % 3]!;
  }
  return out;
}

/** Normal f32 values whose magnitude changes every 256 elements (2^-20 .. 2^19), either sign. */
export function normalValues(count: number, seed: number): Float32Array {
  const words = seededWords(count + Math.ceil(count / 256), seed);
  return Float32Array.from({ length: count }, (_, i) => {
    const word = words[i]!;
    const exponent = (words[count + Math.floor(i / 256)]! % 40) - 20;
    return (word & 1 ? -1 : 1) * (1 + (word >>> 8) / 2 ** 24) * 2 ** exponent;
  });
}
