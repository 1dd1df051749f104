// The addon's block int8 and 1-bit loops (native/src/block-codecs.cc) against lib/cpu/int8.ts
// and lib/cpu/onebit.ts, bit for bit: random values mixed with special ones (±0, subnormals,
// NaNs quiet and signalling of both signs with payloads, ±∞, huge and tiny magnitudes, rounding
// ties of q), counts 0 .. a few thousand with ragged last blocks, several block sizes, element
// offsets into larger buffers, residuals carried over several calls (poisoned blocks reset);
// every decoder on arbitrary payloads (any scale bits: NaN payloads, ∞, subnormals); both
// builds of the loops (AVX2 and baseline); the host codec routed through the installed reducer;
// then bad arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TYPESCRIPT_BLOCK_KERNELS, type BlockKernels } from '../lib/cpu/block-kernels.js';
import { cpuReducer, TYPESCRIPT_REDUCER, useCpuReducer } from '../lib/cpu/cpu-reducer.js';
import { hostCodec } from '../lib/cpu/host-codec.js';
import { int8PackedWords } from '../lib/cpu/int8.js';
import { nativeCpuReducer } from '../lib/cpu/native-reducer.js';
import { onebitSignWords } from '../lib/cpu/onebit.js';
import { WebcclError } from '../lib/errors.js';
import { nativeBlockKernels } from '../lib/native/block-codecs.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';
import { seededRandom } from './helpers/fuzz-inputs.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the native suite needs the addon: ${describeUnavailable(loaded)}`);
const addon = loaded.addon;
if (!addon.int8Quantize || !addon.onebitCompress || !addon.blockCodecSelectVariant) throw new Error('the addon has no int8Quantize/onebitCompress: rebuild it (node native/build.mjs)');
const native = nativeBlockKernels(addon, TYPESCRIPT_BLOCK_KERNELS);
const script = TYPESCRIPT_BLOCK_KERNELS;
const VARIANTS = addon.blockCodecVariant === 'baseline' ? ['baseline'] : ['auto', 'baseline'];

/** Bit patterns that exercise the formats' special cases. */
const SPECIAL = [0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0x00400000, 0x3f800000, 0xbf800000,
  0x7f7fffff, 0xff7fffff, 0x7fc00000, 0xffc00000, 0x7fc00001, 0x7f800001, 0xff800001, 0x7fbfffff, 0xffffffff, 0x7fa00000,
  0x04800000, 0x84800000, 0x047fffff, 0x00800000, 0x80800000, 0x42fe0000, 0x3f000000, 0xbf400000];
const NON_FINITE = (bits: number) => (bits & 0x7f800000) === 0x7f800000;

// A deterministic generator, so a failure reproduces (reseeded where two runs must draw alike).
let random = seededRandom(0x9e3779b9);
const next = () => Math.floor(random() * 2 ** 32) >>> 0;

const hex = (bits: number) => `0x${bits.toString(16)}`;

/** How the values of a test array are drawn. */
type Mix = 'finite' | 'special' | 'ties';

/**
 * One value's bits. finite: moderate magnitudes (|v| < 2^40, so 1-bit's sums stay in range)
 * with a few exact zeros, subnormals and tiny ones; special: SPECIAL or any pattern at all;
 * ties: small integers, which put 127 x / absmax on half-integers (q's rounding ties).
 */
function drawBits(mix: Mix): number {
  const pick = next();
  if (mix === 'ties') return ((pick << 31) | f32Bits((pick >>> 1) % 255)) >>> 0;
  if (mix === 'special' && (pick & 7) === 0) return SPECIAL[(pick >>> 3) % SPECIAL.length]!;
  if (mix === 'special' && (pick & 7) === 1) return next();
  switch (pick & 15) {
    case 2: return (pick & 0x80000000) | (next() & 0x007fffff); // subnormal or ±0
    case 3: return 0;
    case 4: return ((pick & 0x80000000) | ((1 + (next() % 20)) << 23) | (next() & 0x7fffff)) >>> 0; // tiny normal: flushed blocks
    default: return ((pick & 0x80000000) | ((100 + (next() % 67)) << 23) | (next() & 0x7fffff)) >>> 0; // 2^-27 .. 2^39
  }
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);
function f32Bits(value: number): number {
  scratch[0] = value;
  return scratchBits[0]!;
}

/** `n` values placed at element `offset` of a buffer with `offset + n + 3` elements (random padding around). */
function floats(n: number, offset: number, mix: Mix): Float32Array {
  const bits = Uint32Array.from({ length: offset + n + 3 }, () => drawBits(mix));
  return new Float32Array(bits.buffer, 4 * offset, n);
}

/** A copy in a fresh buffer at the same offset (Float32Array.set copies bits, NaN payloads included). */
function copy(array: Float32Array): Float32Array {
  const out = new Float32Array(array.byteOffset / 4 + array.length + 3).subarray(array.byteOffset / 4, array.byteOffset / 4 + array.length);
  out.set(array);
  return out;
}

function words(n: number, offset: number, fill: number): Uint32Array {
  return new Uint32Array(offset + n + 1).fill(fill).subarray(offset, offset + n);
}

/** '' when a and b hold the same bits, else the first element that differs. */
function difference(what: string, a: Float32Array | Uint32Array, b: Float32Array | Uint32Array): string {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return `${what}: lengths ${x.length} and ${y.length}`;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `${what}[${i}]: native ${hex(x[i]!)}, TypeScript ${hex(y[i]!)}`;
  return '';
}

function withVariant(variant: string, run: () => void): void {
  addon.blockCodecSelectVariant!(variant as 'baseline' | 'auto');
  try {
    run();
  } finally {
    addon.blockCodecSelectVariant!('auto');
  }
}

const COUNTS = [0, 1, 3, 4, 5, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 1000, 1023, 1024, 1025, 4099];
const INT8_BLOCKS = [4, 8, 12, 32, 64, 256, 1024];
const ONEBIT_BLOCKS = [32, 64, 96, 128, 256, 1024];

type Family = 'int8' | 'onebit';
const packedWords = (family: Family, count: number) => (family === 'int8' ? int8PackedWords(count) : onebitSignWords(count));

/**
 * Encodes x (with residual, when given, carried over `steps` calls with fresh x each time) by both
 * kernels into buffers pre-filled with garbage; '' when payloads and residuals agree bit for bit.
 */
function compareEncode(family: Family, count: number, blockSize: number, offset: number, mix: Mix, feedback: boolean, steps = 1): string {
  // Each step starts from the residuals the last one left (a poisoned block's reset to 0).
  const rNative = feedback || family === 'onebit' ? floats(count, offset, mix === 'special' ? 'finite' : mix) : undefined;
  const rScript = rNative && copy(rNative);
  for (let step = 0; step < steps; step++) {
    const x = floats(count, offset + step, mix);
    const blocks = Math.ceil(count / blockSize);
    const out = (kernels: BlockKernels, residual: Float32Array | undefined) => {
      const packed = words(packedWords(family, count), offset, 0xdeadbeef);
      const scales = new Float32Array(words(blocks, offset, 0xdeadbeef).buffer, 4 * offset, blocks);
      if (family === 'int8') kernels.int8Quantize(x, residual, count, blockSize, { packed, scales });
      else kernels.onebitCompress(x, residual!, count, blockSize, { signs: packed, scales });
      return { packed, scales };
    };
    const a = out(native, rNative);
    const b = out(script, rScript);
    const where = `${family} count ${count} block ${blockSize} offset ${offset} ${mix} step ${step}`;
    const diff = difference(`${where} scales`, a.scales, b.scales) || difference(`${where} packed`, a.packed, b.packed) ||
      (rNative ? difference(`${where} residual`, rNative, rScript!) : '');
    if (diff) return diff;
  }
  return '';
}

/** Decodes an arbitrary payload (any bits, any scale) by both kernels, storing and accumulating. */
function compareDecode(family: Family, count: number, blockSize: number, offset: number, mix: Mix): string {
  const blocks = Math.ceil(count / blockSize);
  const packed = words(packedWords(family, count), offset, 0);
  for (let i = 0; i < packed.length; i++) packed[i] = next();
  const scales = floats(blocks, offset, (next() & 1) === 0 ? 'special' : 'finite');
  for (const accumulate of [false, true]) {
    const start = accumulate ? floats(count, offset, mix) : new Float32Array(words(count + 1, offset, 0x12345678).buffer, 4 * offset, count);
    const a = copy(start);
    const b = copy(start);
    if (family === 'int8') {
      native.int8Dequantize(packed, scales, count, blockSize, a, accumulate);
      script.int8Dequantize(packed, scales, count, blockSize, b, accumulate);
    } else {
      native.onebitDecompress(packed, scales, count, blockSize, a, accumulate);
      script.onebitDecompress(packed, scales, count, blockSize, b, accumulate);
    }
    const diff = difference(`${family} ${accumulate ? 'accumulate' : 'decode'} count ${count} block ${blockSize} offset ${offset} ${mix}`, a, b);
    if (diff) return diff;
  }
  return '';
}

for (const variant of VARIANTS) {
  test(`int8 quantize (${variant}): counts 0..4099, block sizes 4..1024, offsets 0-3, special values, ties, as int8.ts`, () => {
    withVariant(variant, () => {
      for (const count of COUNTS) {
        for (const blockSize of INT8_BLOCKS) {
          for (const mix of ['finite', 'special', 'ties'] as Mix[]) {
            const diff = compareEncode('int8', count, blockSize, count % 4, mix, false);
            if (diff) assert.unreachable(diff);
          }
        }
      }
    });
  });

  test(`int8 quantize with feedback (${variant}): residuals over 3 calls, poisoned blocks reset, as int8QuantizeWithFeedback`, () => {
    withVariant(variant, () => {
      for (const count of COUNTS) {
        for (const blockSize of INT8_BLOCKS) {
          for (const mix of ['finite', 'special', 'ties'] as Mix[]) {
            const diff = compareEncode('int8', count, blockSize, (count + blockSize) % 4, mix, true, 3);
            if (diff) assert.unreachable(diff);
          }
        }
      }
    });
  });

  test(`onebit compress (${variant}): residuals over 3 calls, ragged blocks, poisoned blocks reset, as onebit.ts`, () => {
    withVariant(variant, () => {
      for (const count of COUNTS) {
        for (const blockSize of ONEBIT_BLOCKS) {
          for (const mix of ['finite', 'special', 'ties'] as Mix[]) {
            const diff = compareEncode('onebit', count, blockSize, count % 4, mix, true, 3);
            if (diff) assert.unreachable(diff);
          }
        }
      }
    });
  });

  test(`int8 and onebit decode and decode-accumulate (${variant}): arbitrary payloads and scales into accumulators with NaNs, as the oracle`, () => {
    withVariant(variant, () => {
      for (const count of COUNTS) {
        for (const blockSize of INT8_BLOCKS) {
          const diff = compareDecode('int8', count, blockSize, count % 4, 'special') || compareDecode('int8', count, blockSize, 1, 'finite');
          if (diff) assert.unreachable(diff);
        }
        for (const blockSize of ONEBIT_BLOCKS) {
          const diff = compareDecode('onebit', count, blockSize, count % 4, 'special') || compareDecode('onebit', count, blockSize, 2, 'finite');
          if (diff) assert.unreachable(diff);
        }
      }
    });
  });
}

test('fuzz: random counts, block sizes and offsets, every loop, 400 rounds', () => {
  for (let round = 0; round < 400; round++) {
    const count = next() % 3000;
    const offset = next() % 5;
    const mix = (['finite', 'special', 'ties'] as Mix[])[next() % 3]!;
    const int8Block = 4 * (1 + (next() % 300));
    const onebitBlock = 32 * (1 + (next() % 40));
    const diff = compareEncode('int8', count, int8Block, offset, mix, (round & 1) === 0, 2) || compareEncode('onebit', count, onebitBlock, offset, mix, true, 2) ||
      compareDecode('int8', count, int8Block, offset, mix) || compareDecode('onebit', count, onebitBlock, offset, mix);
    if (diff) assert.unreachable(`round ${round}: ${diff}`);
  }
});

test('the values that decide each rule: q ties round to even, a poisoned block resets its residual, NaN rule of the accumulate', () => {
  // absmax 127: q = roundHalfEven(x), so the halves show the ties (0.5 -> 0, 1.5 -> 2, 2.5 -> 2).
  const x = Float32Array.of(127, 0.5, 1.5, 2.5, -2.5, 3.5, 0, -0);
  const packed = new Uint32Array(2);
  const scales = new Float32Array(1);
  native.int8Quantize(x, undefined, 8, 8, { packed, scales });
  assert.equal(Array.from(new Int8Array(packed.buffer)), [127, 0, 2, 2, -2, 4, 0, 0], 'q rounds half to even');
  // A NaN in x poisons its block: scale NaN, bytes 0, residual 0 (the other block untouched by the reset).
  const residual = Float32Array.of(0.25, 0.25, 0.25, 0.25, 0.5, 0.3, 0.7, -0.1);
  const twoScales = new Float32Array(2);
  native.int8Quantize(Float32Array.of(1, NaN, 1, 1, 1, 1, 1, 1), residual, 8, 4, { packed, scales: twoScales });
  assert.is(new Uint32Array(twoScales.buffer)[0], 0x7fc00000);
  assert.equal(Array.from(residual.subarray(0, 4)), [0, 0, 0, 0], 'poisoned residual reset');
  assert.ok(residual.subarray(4).some((r) => r !== 0), 'the finite block keeps v - y');
  const signs = new Uint32Array(1);
  const onebitResidual = new Float32Array(32).fill(3);
  const onebitScale = new Float32Array(1);
  native.onebitCompress(Float32Array.from({ length: 32 }, (_, i) => (i === 7 ? Infinity : 1)), onebitResidual, 32, 32, { signs, scales: onebitScale });
  assert.is(new Uint32Array(onebitScale.buffer)[0], 0x7fc00000);
  assert.ok(onebitResidual.every((r) => r === 0), 'onebit poisoned residual reset');
  // acc NaN (signalling, negative) wins and is quieted; a poisoned block over a number gives 0x7fc00000.
  const acc = new Float32Array(new Uint32Array([0xff800001, 0x3f800000, 0x00000000, 0x00000000]).buffer);
  native.int8Dequantize(new Uint32Array(1), new Float32Array(new Uint32Array([0x7f800000]).buffer), 4, 4, acc, true);
  assert.equal(Array.from(new Uint32Array(acc.buffer)), [0xffc00001, 0x7fc00000, 0x7fc00000, 0x7fc00000]);
});

test('host codec: int8 and onebit encode, decode and decode-accumulate through the installed native reducer equal the TypeScript one', () => {
  const before = cpuReducer();
  try {
    for (const [family, blockSize, valuesPerWord] of [['int8', 64, 4], ['onebit', 128, 32]] as const) {
      const count = 5000;
      const x = floats(count, 1, 'special');
      const run = (reducer: typeof before) => {
        useCpuReducer(reducer);
        const codec = hostCodec({ kind: 'blocks', family, blockSize, valuesPerWord });
        const residual = new Float32Array(count).fill(0.125);
        const payload = codec.encode(x, residual);
        const decoded = new Float32Array(count);
        codec.decode(payload, count, decoded);
        const acc = floats(count, 0, 'finite');
        const accCopy = copy(acc);
        codec.decodeAccumulate(payload, count, accCopy);
        return { payload: new Uint32Array(payload.buffer, payload.byteOffset, payload.byteLength / 4), residual, decoded, acc: accCopy, reducer: cpuReducer().blocks };
      };
      random = seededRandom(0x1234567);
      const viaNative = run(nativeCpuReducer(addon));
      random = seededRandom(0x1234567);
      const viaScript = run(TYPESCRIPT_REDUCER);
      assert.is.not(viaNative.reducer, viaScript.reducer, 'the native reducer carries its own block loops');
      for (const key of ['payload', 'residual', 'decoded', 'acc'] as const) {
        const diff = difference(`${family} ${key}`, viaNative[key], viaScript[key]);
        if (diff) assert.unreachable(diff);
      }
    }
  } finally {
    useCpuReducer(before === TYPESCRIPT_REDUCER ? undefined : before);
  }
});

test('an addon without the block loops keeps the TypeScript ones (per loop)', () => {
  /** The addon's exports less `keys`: what an older build loads as. */
  const without = (...keys: string[]) => {
    const older: Record<string, unknown> = { ...addon };
    for (const key of keys) delete older[key];
    return older as unknown as typeof addon;
  };
  const kernels = nativeBlockKernels(without('int8Quantize', 'int8Dequantize', 'onebitCompress', 'onebitDecompress'), TYPESCRIPT_BLOCK_KERNELS);
  for (const key of ['int8Quantize', 'int8Dequantize', 'onebitCompress', 'onebitDecompress'] as const) assert.is(kernels[key], TYPESCRIPT_BLOCK_KERNELS[key], key);
  const partial = nativeBlockKernels(without('int8Quantize'), TYPESCRIPT_BLOCK_KERNELS);
  assert.is(partial.int8Quantize, TYPESCRIPT_BLOCK_KERNELS.int8Quantize);
  assert.is.not(partial.onebitCompress, TYPESCRIPT_BLOCK_KERNELS.onebitCompress);
});

function throwsInvalid(run: () => void, words: string, what: string): void {
  try {
    run();
  } catch (error) {
    assert.instance(error, WebcclError, what);
    assert.match((error as Error).message, words, what);
    return;
  }
  assert.unreachable(`${what}: did not throw`);
}

test('bad arguments throw InvalidArgument naming them, outputs untouched', () => {
  const x = new Float32Array(64).fill(1);
  const packed = new Uint32Array(16);
  const scales = new Float32Array(2);
  const any = native as unknown as Record<keyof BlockKernels, (...args: unknown[]) => void>;
  throwsInvalid(() => any.int8Quantize(x, undefined, 64, 6, { packed, scales }), 'block size is not a multiple of 4 in [4, 16777216]', 'int8 block size 6');
  throwsInvalid(() => any.int8Quantize(x, undefined, 64, 0, { packed, scales }), 'block size is not a multiple of 4', 'int8 block size 0');
  throwsInvalid(() => any.int8Quantize(x, undefined, 64.5, 32, { packed, scales }), 'count is not an integer in [0, 2147483647]', 'fractional count');
  throwsInvalid(() => any.int8Quantize(x, undefined, -1, 32, { packed, scales }), 'count is not an integer', 'negative count');
  throwsInvalid(() => any.int8Quantize(x, undefined, 65, 32, { packed, scales }), 'x: needs 65 elements but holds 64', 'short x');
  throwsInvalid(() => any.int8Quantize(x, new Float32Array(10), 64, 32, { packed, scales }), 'residual: needs 64 elements but holds 10', 'short residual');
  throwsInvalid(() => any.int8Quantize(x, undefined, 64, 32, { packed: new Uint32Array(15), scales }), 'packed: needs 16 elements but holds 15', 'short packed');
  throwsInvalid(() => any.int8Quantize(x, undefined, 64, 16, { packed, scales }), 'scales: needs 4 elements but holds 2', 'short scales');
  throwsInvalid(() => any.int8Quantize(new Float64Array(64), undefined, 64, 32, { packed, scales }), 'x must be a Float32Array', 'Float64Array x');
  throwsInvalid(() => any.int8Quantize(x, undefined, 64, 32, { packed: new Int32Array(16), scales }), 'packed must be a Uint32Array', 'Int32Array packed');
  const shared = new ArrayBuffer(512);
  throwsInvalid(() => any.int8Quantize(new Float32Array(shared, 0, 64), undefined, 64, 32, { packed: new Uint32Array(shared, 192, 16), scales }), 'x and packed share memory', 'overlap');
  throwsInvalid(() => any.int8Quantize(x, x, 64, 32, { packed, scales }), 'x and residual share memory', 'x as residual');
  throwsInvalid(() => any.onebitCompress(x, new Float32Array(64), 64, 48, { signs: new Uint32Array(2), scales }), 'block size is not a multiple of 32', 'onebit block size 48');
  throwsInvalid(() => any.onebitCompress(x, undefined, 64, 32, { signs: new Uint32Array(2), scales }), 'residual must be a Float32Array', 'onebit without residual');
  throwsInvalid(() => any.onebitCompress(x, new Float32Array(64), 64, 32, { signs: new Uint32Array(1), scales }), 'packed: needs 2 elements but holds 1', 'short signs');
  throwsInvalid(() => any.int8Dequantize(packed, scales, 64, 32, new Float32Array(63), true), 'out: needs 64 elements but holds 63', 'short acc');
  throwsInvalid(() => any.int8Dequantize(packed, scales, 64, 30, new Float32Array(64), false), 'block size is not a multiple of 4', 'decode block size');
  throwsInvalid(() => any.onebitDecompress(new Uint32Array(shared, 0, 2), new Float32Array(shared, 4, 2), 64, 32, new Float32Array(64), false), 'packed and scales share memory', 'decode overlap');
  throwsInvalid(() => any.onebitDecompress(new Uint32Array(2), scales, 64, 32, new Uint32Array(64), false), 'out must be a Float32Array', 'Uint32Array out');
  assert.ok(packed.every((w) => w === 0) && scales.every((s) => s === 0), 'outputs untouched');
  // The addon itself, called with too few arguments: its own Error, no crash.
  try {
    (addon.onebitCompress as unknown as (...args: unknown[]) => void)(x, x);
    assert.unreachable('two arguments did not throw');
  } catch (error) {
    assert.is((error as { code?: unknown }).code, 'ERR_WEBCCL_NATIVE');
    assert.match((error as Error).message, 'expected 6 arguments, got 2');
  }
});

test.run();
