// The NaN rule (lib/cpu/reduction.ts) for the hop codecs' folds, acc = acc + decode(payload):
// inputs where acc's NaNs of every kind (quiet, signalling, both signs) meet the payload's NaNs
// and numbers, and per lane the bits the rule asks for wherever a NaN is involved:
// - bf16, fp16: the payload is the 16-bit values themselves, NaN payloads included, so the fold
//   gives acc's NaN quieted, else the widened value's NaN quieted, else (∞ + -∞) the canonical
//   NaN 0x7fc00000;
// - int8, onebit: a block holding NaN or ±Inf is poisoned and decodes to the codec's NaN,
//   0x7fc00000, so the fold gives acc's NaN quieted, else 0x7fc00000.
// No GPU import: the CPU suite uses it too.
import { codecNamed } from '../../lib/collectives/codecs.js';
import { hostCodec } from '../../lib/cpu/host-codec.js';
import { bf16BitsToF32Bits, f16BitsToF32Bits } from '../../lib/cpu/half.js';
import { isNaNBits, nanRuleValues, QUIET_BIT, valueOf, type FloatType } from './nan-rule.js';

export const FOLD_CODECS = ['bf16', 'fp16', 'int8', 'onebit'] as const;
export type FoldCodec = (typeof FOLD_CODECS)[number];

export interface CodecNanCase {
  readonly count: number;
  readonly acc: Float32Array;
  readonly payload: Uint8Array;
  /** Per lane: the rule's bits where acc or the decoded value is NaN, undefined elsewhere. */
  readonly rule: ReadonlyArray<number | undefined>;
}

const CODEC_NAN = 0x7fc00000;
/** The rule's f32 values (NaNs, then 1.5 and -2), then +∞ and -∞. */
const F32_VALUES = [...nanRuleValues('float32'), 0x7f800000, 0xff800000];
const HALF_INFINITIES: Record<FloatType, readonly number[]> = { float32: [], float16: [0x7c00, 0xfc00], bfloat16: [0x7f80, 0xff80] };
const quiet = (dtype: FloatType, bits: number) => (bits | QUIET_BIT[dtype]) >>> 0;

/** acc's lane i: F32_VALUES in turn. */
function accLanes(count: number): Float32Array {
  return new Float32Array(Uint32Array.from({ length: count }, (_, i) => F32_VALUES[i % F32_VALUES.length]!).buffer);
}

/**
 * 16-bit codecs: every (acc, payload) pair of the values (81 lanes), repeated to `count` lanes; block
 * codecs: `count` lanes in blocks of the codec's size, a NaN in every third block, +Inf in every
 * third from the second on, the rest 1.5 and -2 (the last block ragged when count says so).
 */
export function codecNanCase(codecName: FoldCodec, count: number): CodecNanCase {
  const codec = codecNamed(codecName)!;
  const host = hostCodec(codec.format);
  const acc = accLanes(count);
  const accBits = new Uint32Array(acc.buffer);
  if (codec.format.kind === 'half') {
    const half: FloatType = codecName === 'bf16' ? 'bfloat16' : 'float16';
    const values = [...nanRuleValues(half), ...HALF_INFINITIES[half]];
    const recv = Uint16Array.from({ length: count }, (_, i) => values[Math.floor(i / F32_VALUES.length) % values.length]!);
    const rule = Array.from(recv, (h, i) => {
      if (isNaNBits('float32', accBits[i]!)) return quiet('float32', accBits[i]!);
      // A 16-bit NaN widens with its payload (exact), then the fold quiets it.
      if (isNaNBits(half, h)) return quiet('float32', half === 'bfloat16' ? bf16BitsToF32Bits(h) : f16BitsToF32Bits(h));
      return Number.isNaN(acc[i]! + valueOf(half, h)) ? CODEC_NAN : undefined;
    });
    return { count, acc, payload: new Uint8Array(recv.buffer), rule };
  }
  if (codec.format.kind !== 'blocks') throw new Error(`${codecName} folds no payload`);
  const blockSize = codec.format.blockSize;
  const x = Float32Array.from({ length: count }, (_, i) => (i % 3 === 0 ? 1.5 : -2));
  const poisoned = (block: number) => block % 3 !== 2;
  for (let block = 0; block * blockSize < count; block++) {
    const at = block * blockSize + (block % 5);
    if (at < count && poisoned(block)) x[at] = block % 3 === 0 ? NaN : Infinity;
  }
  const payload = host.encode(x, codec.errorFeedback === 'always' ? new Float32Array(count) : undefined);
  const rule = Array.from(accBits, (bits, i) => {
    if (isNaNBits('float32', bits)) return quiet('float32', bits);
    return poisoned(Math.floor(i / blockSize)) ? CODEC_NAN : undefined;
  });
  return { count, acc, payload, rule };
}

export interface FeedbackNanCase {
  readonly x: Float32Array;
  readonly residual: Float32Array;
  /** The residual's bits after one encode: 0 in poisoned blocks, `encoded`'s own bits elsewhere. */
  residualAfter(encoded: Float32Array): ReadonlyArray<number>;
}

/**
 * Error feedback's inputs: x 0.25 and the residual 0.125, with a NaN (signalling, negative) in x
 * in every third block, +Inf in the residual in every third from the second on, the rest clean
 * (blocks of the codec's size, the last one ragged when count says so).
 */
export function feedbackNanCase(codecName: 'int8' | 'onebit', count: number): FeedbackNanCase {
  const format = codecNamed(codecName)!.format;
  if (format.kind !== 'blocks') throw new Error(`${codecName} is no block codec`);
  const blockSize = format.blockSize;
  const x = new Float32Array(count).fill(0.25);
  const residual = new Float32Array(count).fill(0.125);
  const poisoned = (block: number) => block % 3 !== 2;
  for (let block = 0; block * blockSize < count; block++) {
    const at = block * blockSize + (block % 7);
    if (at >= count || !poisoned(block)) continue;
    if (block % 3 === 0) new Uint32Array(x.buffer)[at] = 0xff812345;
    else residual[at] = Infinity;
  }
  return {
    x, residual,
    residualAfter: (encoded) => Array.from(new Uint32Array(encoded.buffer, encoded.byteOffset, count), (bits, i) => (poisoned(Math.floor(i / blockSize)) ? 0 : bits)),
  };
}
