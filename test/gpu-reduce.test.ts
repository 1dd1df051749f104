// GPU reductions against the CPU oracle on identical bytes: every dtype, op and form, the scale
// operations, sizes 0/1/odd/not a multiple of the workgroup/beyond 65535 workgroups, non-zero
// and binding-unaligned offsets, in-place use, pieces split at the binding limit, and bad
// arguments. Results must be bit-identical (NaN payloads aside, except in the NaN rule's test,
// which holds them to the bit): the generators keep f32 values
// out of the subnormal range, where WGSL lets the device flush to zero (lavapipe does).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elementBytes, premulSum, SIMPLE_OPS, type DataType, type ReduceOp } from '../lib/dtype.js';
import { finishAverage, premultiply, reduceAccumulate, reduceNary } from '../lib/cpu/reduce.js';
import {
  encodeReduceNary, gpuFinishAverage, REDUCE_LAYOUT, gpuPremultiply, gpuReduceAccumulate, gpuReduceNary,
} from '../lib/gpu/reduce.js';
import type { KernelOptions } from '../lib/gpu/options.js';
import { region } from '../lib/gpu/region.js';
import { assertSameElements, ctx, device, Mirrored, randomBytes, randomWords, scalarFor } from './helpers/gpu.js';
import { rejects } from './helpers/assert.js';
import { firstDifference, FLOAT_TYPES, foldOf, madeNaNCases, nanCases } from './helpers/nan-rule.js';

const DTYPES: readonly DataType[] = ['float32', 'float16', 'bfloat16', 'int32', 'uint32'];
const OPS: readonly ReduceOp[] = ['sum', 'prod', 'min', 'max', 'avg', premulSum(0.3)];

interface Layout {
  readonly count: number;
  readonly sources: number;
  readonly dstOffset?: number;
  readonly sourceOffsets?: readonly number[];
  readonly options?: KernelOptions;
}

let seed = 1;

/** Runs one form on the GPU and on the CPU over mirrored buffers and compares the whole dst buffer. */
async function check(form: 'accumulate' | 'nary', dtype: DataType, op: ReduceOp, layout: Layout): Promise<void> {
  const { count, sources: k, dstOffset = 0, options = {} } = layout;
  const bytes = count * elementBytes(dtype);
  const offsets = layout.sourceOffsets ?? Array.from({ length: k }, (_, j) => 4 * j);
  const dst = new Mirrored(randomBytes(dtype, op, (dstOffset + bytes) / elementBytes(dtype) + 6, seed++));
  const sources = offsets.map((offset) => new Mirrored(randomBytes(dtype, op, (offset + bytes) / elementBytes(dtype) + 2, seed++)));
  const what = `${form} ${dtype} ${JSON.stringify(op)} count ${count} k ${k} dst@${dstOffset}`;
  const run = form === 'accumulate' ? gpuReduceAccumulate : gpuReduceNary;
  const cpu = form === 'accumulate' ? reduceAccumulate : reduceNary;
  await run(ctx, dst.region(dstOffset), sources.map((s, j) => s.region(offsets[j]!)), count, dtype, op, options);
  cpu(dst.view(dstOffset), sources.map((s, j) => s.view(offsets[j]!)), count, dtype, op);
  assertSameElements(await dst.readBack(), dst.host, dtype, what);
  for (const b of [dst, ...sources]) b.destroy();
}

for (const dtype of DTYPES) {
  test(`reduce ${dtype}: every op, both forms, sizes 0, 1, odd, not a workgroup multiple, 8 sources`, async () => {
    for (const rawOp of OPS) {
      const op = scalarFor(dtype, rawOp);
      for (const form of ['accumulate', 'nary'] as const) {
        const maxSources = form === 'accumulate' ? 7 : 8;
        await check(form, dtype, op, { count: 0, sources: 1 });
        await check(form, dtype, op, { count: 1, sources: 2 });
        await check(form, dtype, op, { count: 3, sources: 3, dstOffset: 8, sourceOffsets: [4, 260, 12] });
        await check(form, dtype, op, { count: 1001, sources: maxSources, dstOffset: 516, options: { workgroupSize: 64 } });
      }
    }
  });
}

test('reduce: more than 65535 workgroups (folded 2-D grid), every dtype, vec4 and scalar forms', async () => {
  // One-thread workgroups: the vec4 form's threads take 4 vec4s (16 words), the scalar form's 4 words.
  const workgroups = ctx.maxWorkgroupsPerDimension + 100;
  for (const dtype of DTYPES) {
    const count = workgroups * 16 * (4 / elementBytes(dtype)) - 1;
    await check('nary', dtype, 'sum', { count, sources: 2, sourceOffsets: [0, 0], options: { workgroupSize: 1 } });
    await check('nary', dtype, 'sum', { count: (count + 1) / 4 - 1, sources: 2, sourceOffsets: [0, 4], options: { workgroupSize: 1 } });
  }
});

test('reduce: vec4 body and scalar edges at every word residue, regions in step and not', async () => {
  // Counts cover: all head, head + tail, head + body + tail, partial last 16-bit word, and
  // threads whose 4 units run past the end.
  for (const dtype of ['float32', 'float16'] as const) {
    for (let residue = 0; residue < 4; residue++) {
      for (const count of [1, 2, 3, 5, 8, 9, 17, 31, 64, 67, 263]) {
        const inStep = [4 * residue + 16, 4 * residue + 272];
        await check('accumulate', dtype, 'sum', { count, sources: 2, dstOffset: 4 * residue, sourceOffsets: inStep });
        await check('nary', dtype, 'min', { count, sources: 3, dstOffset: 4 * residue, sourceOffsets: [...inStep, 4 * ((residue + 1) % 4)] });
      }
    }
  }
});

test('reduce: both unit layouts (coalesced as on GPUs, consecutive as on lavapipe), vec4 and scalar forms, many small workgroups', async () => {
  // Workgroups of 4 threads, 4 units each: a tile is 16 units, so these counts span many tiles
  // with ragged last ones; offsets at every word residue put the units in the vec4 body and in
  // the scalar head and tail.
  for (const unitLayout of ['coalesced', 'consecutive'] as const) {
    const options = { unitLayout, workgroupSize: 4 };
    for (const dtype of DTYPES) {
      for (let residue = 0; residue < 4; residue++) {
        const op = scalarFor(dtype, residue % 2 ? premulSum(0.3) : 'sum');
        const inStep = [4 * residue + 16, 4 * residue + 528];
        await check('accumulate', dtype, op, { count: 4 * 16 * 9 + residue + 1, sources: 2, dstOffset: 4 * residue, sourceOffsets: inStep, options });
        await check('nary', dtype, 'max', { count: 4 * 16 * 7 + 3, sources: 3, dstOffset: 4 * residue, sourceOffsets: [...inStep, 4 * ((residue + 1) % 4)], options });
      }
      const count = 4 * 16 * 5 + 3;
      const src = new Mirrored(randomBytes(dtype, 'sum', count + 8, seed++));
      const dst = new Mirrored(randomBytes(dtype, 'sum', count + 10, seed++));
      await gpuFinishAverage(ctx, dst.region(16), src.region(16), count, dtype, 3, options);
      finishAverage(dst.view(16), src.view(16), count, dtype, 3);
      assertSameElements(await dst.readBack(), dst.host, dtype, `finishAverage ${dtype} ${unitLayout}`);
      src.destroy();
      dst.destroy();
    }
  }
});

test('reduce: work split into pieces at the binding limit, including inputs that share dst\'s buffer', async () => {
  const options = { maxBindingBytes: 4096 };
  for (const dtype of ['float16', 'int32'] as const) {
    await check('accumulate', dtype, 'max', { count: 5001, sources: 3, dstOffset: 4, sourceOffsets: [0, 8, 300], options });
    await check('nary', dtype, 'avg', { count: 3333, sources: 2, dstOffset: 1028, options });
  }
  // n-ary in place: dst is source 0, source 1 lies further on in the same buffer (read through dst's binding).
  const count = 2999;
  const buffer = new Mirrored(randomBytes('float32', 'sum', 2 * count + 8, 99));
  const other = new Mirrored(randomBytes('float32', 'sum', count, 98));
  const at = [region(buffer.gpu, 16), region(buffer.gpu, 16 + 4 * count + 12), other.region(0)];
  // The shared binding spans both regions (12 KB apart), so pieces shrink to fit 16 KB.
  await gpuReduceNary(ctx, at[0]!, at, count, 'float32', 'sum', { maxBindingBytes: 16384 });
  await rejects(gpuReduceNary(ctx, at[0]!, at, count, 'float32', 'sum', options), /cannot be bound together within the device's 4096-byte/);
  reduceNary(buffer.view(16), [buffer.view(16), buffer.view(16 + 4 * count + 12), other.view(0)], count, 'float32', 'sum');
  assertSameElements(await buffer.readBack(), buffer.host, 'float32', 'in place with a same-buffer source');
  buffer.destroy();
  other.destroy();
});

test('scale operations: premultiply and finishAverage, every dtype, odd counts at offsets', async () => {
  for (const dtype of DTYPES) {
    for (const count of [1, 7, 1001]) {
      const src = new Mirrored(randomBytes(dtype, 'sum', count + 3, seed++));
      const dst = new Mirrored(randomBytes(dtype, 'sum', count + 5, seed++));
      const scalar = dtype === 'int32' || dtype === 'uint32' ? 7 : 0.1;
      await gpuPremultiply(ctx, dst.region(4), src.region(4), count, dtype, scalar);
      premultiply(dst.view(4), src.view(4), count, dtype, scalar);
      assertSameElements(await dst.readBack(), dst.host, dtype, `premultiply ${dtype} ${count}`);
      await gpuFinishAverage(ctx, dst.region(4), dst.region(4), count, dtype, 3); // in place
      finishAverage(dst.view(4), dst.view(4), count, dtype, 3);
      assertSameElements(await dst.readBack(), dst.host, dtype, `finishAverage ${dtype} ${count}`);
      src.destroy();
      dst.destroy();
    }
  }
});

/** `bytes` placed at byte `offset` of a fresh buffer, zeros before it. */
function placed(bytes: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(offset + bytes.length);
  out.set(bytes, offset);
  return out;
}

test('NaN rule: a NaN made from numbers (∞ - ∞, 0 × ∞) is the canonical quiet NaN, every float op and dtype, both forms, as the oracle and the rule', async () => {
  // lavapipe gave x86's default NaN, 0xffc00000 (f16 0xfe00, bf16 0xffc0); GPUs give others.
  for (const dtype of FLOAT_TYPES) {
    for (const sources of [2, 3]) {
      for (const op of [...SIMPLE_OPS, premulSum(0.75), premulSum(0)]) {
        for (const form of ['nary', 'accumulate'] as const) {
          const cases = madeNaNCases(dtype, sources, foldOf(op, form));
          const { inputs, count, rule } = cases;
          const what = `${form} ${dtype} ${JSON.stringify(op)} ${sources} sources`;
          const given = form === 'nary' ? inputs : inputs.slice(1);
          const dst = new Mirrored(form === 'nary' ? new Uint8Array(inputs[0]!.length) : inputs[0]!);
          const srcs = given.map((input) => new Mirrored(input));
          await (form === 'nary' ? gpuReduceNary : gpuReduceAccumulate)(ctx, dst.region(0), srcs.map((src) => src.region(0)), count, dtype, op);
          (form === 'nary' ? reduceNary : reduceAccumulate)(dst.view(0), srcs.map((src) => src.view(0)), count, dtype, op);
          const got = await dst.readBack();
          assert.is(firstDifference(dtype, got, dst.host), '', `${what}: GPU against the oracle`);
          assert.is(firstDifference(dtype, got.subarray(0, inputs[0]!.length), rule, cases), '', `${what}: GPU against the rule`);
          for (const b of [dst, ...srcs]) b.destroy();
        }
      }
    }
    const single = madeNaNCases(dtype, 1, { first: (x) => 0 * x, step: () => 0 });
    const src = new Mirrored(single.inputs[0]!);
    const dst = new Mirrored(new Uint8Array(single.inputs[0]!.length));
    await gpuPremultiply(ctx, dst.region(0), src.region(0), single.count, dtype, 0);
    const got = await dst.readBack();
    assert.is(firstDifference(dtype, got, single.rule, single), '', `premultiply ${dtype} by 0: GPU against the rule`);
    for (const b of [dst, src]) b.destroy();
  }
});

test('NaN rule: NaN meeting NaN or a number, every float op and dtype, 2-4 sources, both forms, vec4 and scalar, as the oracle and the rule', async () => {
  // WGSL leaves NaN results to the device: lavapipe kept the later of two NaNs in sums and
  // products of 3-4 sources and passed signalling f32 NaNs through min and max unquieted.
  for (const dtype of FLOAT_TYPES) {
    for (const sources of [2, 3, 4]) {
      const cases = nanCases(dtype, sources);
      const { inputs, count, rule } = cases;
      for (const op of [...SIMPLE_OPS, premulSum(0.75)]) {
        // In step at offset 0 (the vec4 body and a scalar tail), or out of step (scalar words).
        for (const shift of [0, 4]) {
          const what = `${dtype} ${JSON.stringify(op)} ${sources} sources shift ${shift}`;
          const at = (j: number) => (shift === 0 ? 0 : 4 * (j + 2));
          for (const form of ['nary', 'accumulate'] as const) {
            const given = form === 'nary' ? inputs : inputs.slice(1);
            const dst = new Mirrored(placed(form === 'nary' ? new Uint8Array(inputs[0]!.length) : inputs[0]!, shift));
            const srcs = given.map((input, j) => new Mirrored(placed(input, at(j))));
            const run = form === 'nary' ? gpuReduceNary : gpuReduceAccumulate;
            await run(ctx, dst.region(shift), srcs.map((src, j) => src.region(at(j))), count, dtype, op);
            (form === 'nary' ? reduceNary : reduceAccumulate)(dst.view(shift), srcs.map((src, j) => src.view(at(j))), count, dtype, op);
            const got = await dst.readBack();
            assert.is(firstDifference(dtype, got, dst.host), '', `${form} ${what}: GPU against the oracle`);
            assert.is(firstDifference(dtype, got.subarray(shift, shift + inputs[0]!.length), rule, cases), '', `${form} ${what}: GPU against the rule`);
            for (const b of [dst, ...srcs]) b.destroy();
          }
        }
      }
    }
    // One operand NaN, the other the scalar or 1/divisor: the NaN, quieted.
    const single = nanCases(dtype, 1);
    const src = new Mirrored(single.inputs[0]!);
    for (const [name, gpu, cpu] of [
      ['premultiply', (d: Mirrored) => gpuPremultiply(ctx, d.region(0), src.region(0), single.count, dtype, 3), (d: Mirrored) => premultiply(d.view(0), src.view(0), single.count, dtype, 3)],
      ['finishAverage', (d: Mirrored) => gpuFinishAverage(ctx, d.region(0), src.region(0), single.count, dtype, 3), (d: Mirrored) => finishAverage(d.view(0), src.view(0), single.count, dtype, 3)],
    ] as const) {
      const dst = new Mirrored(new Uint8Array(single.inputs[0]!.length));
      await gpu(dst);
      cpu(dst);
      const got = await dst.readBack();
      assert.is(firstDifference(dtype, got, dst.host), '', `${name} ${dtype}: GPU against the oracle`);
      assert.is(firstDifference(dtype, got.subarray(0, single.inputs[0]!.length), single.rule, single), '', `${name} ${dtype}: GPU against the rule`);
      dst.destroy();
    }
    src.destroy();
  }
});

// ---- premulSum on adapters whose compilers contract a*b+c into an FMA (NVIDIA's do) ----

const PREMUL_SCALAR = Math.fround(0.3);

/** round_f32(a*b + c) with one rounding, or undefined where this test cannot get it exactly. */
function fusedOrUndefined(a: number, b: number, c: number): number | undefined {
  const product = a * b; // exact: two 24-bit significands fit in f64's 53
  const sum = product + c;
  // TwoSum's error term: 0 when the f64 sum is exact, so a single fround is the fused result
  // (no double rounding). Inputs whose sum is not exact in f64 are skipped.
  const back = sum - product;
  return (product - (sum - back)) + (c - back) === 0 ? Math.fround(sum) : undefined;
}

const unfused = (a: number, b: number, c: number): number => Math.fround(Math.fround(a * b) + c);

/** f32 values near 1 whose exponents are close, so that the f64 sums above stay exact. */
function nearOne(count: number, seed: number): Float32Array {
  return Float32Array.from(randomWords(count, seed), (w) => (w & 1 ? -1 : 1) * (1 + (w >>> 9) / 2 ** 23) * 2 ** (((w >>> 1) & 3) - 2));
}

/**
 * Accumulate inputs (dst c, source x) and n-ary inputs (x0, x1) for which a fused multiply-add
 * in any position gives different f32 bits from the two roundings premulSum specifies.
 */
function discriminatingInputs(count: number): { c: Float32Array; x: Float32Array; x0: Float32Array; x1: Float32Array } {
  const s = PREMUL_SCALAR;
  const pick = (keep: (a: number, b: number) => boolean, seed: number): [Float32Array, Float32Array] => {
    const a = new Float32Array(count);
    const b = new Float32Array(count);
    const candidates = nearOne(64 * count, seed);
    let n = 0;
    for (let i = 0; i + 1 < candidates.length && n < count; i += 2) {
      if (keep(candidates[i]!, candidates[i + 1]!)) { a[n] = candidates[i]!; b[n] = candidates[i + 1]!; n++; }
    }
    assert.is(n, count, 'enough discriminating inputs');
    return [a, b];
  };
  const differs = (fused: number | undefined, plain: number) => fused !== undefined && fused !== plain;
  const [c, x] = pick((c, x) => differs(fusedOrUndefined(x, s, c), unfused(x, s, c)), 11);
  const [x0, x1] = pick((x0, x1) => {
    const plain = Math.fround(Math.fround(x0 * s) + Math.fround(x1 * s));
    return differs(fusedOrUndefined(x1, s, Math.fround(x0 * s)), plain) && differs(fusedOrUndefined(x0, s, Math.fround(x1 * s)), plain);
  }, 12);
  return { c, x, x0, x1 };
}

const bytesOf = (values: Float32Array) => new Uint8Array(values.buffer.slice(0));

test('fusedOrUndefined: one rounding where double rounding through f64 would differ, or no answer', () => {
  // 1 + 2^-24 is a tie in f32; with 2^-60 above it the exact sum rounds up, but rounding
  // first to f64 drops the 2^-60 and the tie then rounds to even (down): the helper must not
  // answer there.
  assert.is(fusedOrUndefined(1, 1 + 2 ** -24, 2 ** -60), undefined);
  // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 exactly, an f32; rounding the product first loses 2^-24.
  const a = 1 + 2 ** -12;
  assert.is(fusedOrUndefined(a, a, -1), 2 ** -11 + 2 ** -24);
  assert.is(unfused(a, a, -1), 2 ** -11);
  assert.is(fusedOrUndefined(3, 5, 7), 22);
});

test('premulSum: each product is rounded to f32 before it is added, on every adapter (no FMA contraction)', async () => {
  // Every element is chosen so that a fused multiply-add gives other bits: a contracting
  // compiler fails this test on every element unless the kernel stops it.
  const count = 263; // vec4 body and scalar edges
  const { c, x, x0, x1 } = discriminatingInputs(count);
  const op = premulSum(PREMUL_SCALAR);
  const dst = new Mirrored(bytesOf(c));
  const src = new Mirrored(bytesOf(x));
  await gpuReduceAccumulate(ctx, dst.region(0), [src.region(0)], count, 'float32', op);
  reduceAccumulate(dst.view(0), [src.view(0)], count, 'float32', op);
  assert.equal(new Float32Array(dst.host.buffer, 0, count), Float32Array.from(c, (ci, i) => unfused(x[i]!, PREMUL_SCALAR, ci)), 'the CPU oracle rounds twice');
  assertSameElements(await dst.readBack(), dst.host, 'float32', 'accumulate premulSum');
  const a = new Mirrored(bytesOf(x0));
  const b = new Mirrored(bytesOf(x1));
  const out = new Mirrored(new Uint8Array(4 * count));
  await gpuReduceNary(ctx, out.region(0), [a.region(0), b.region(0)], count, 'float32', op);
  reduceNary(out.view(0), [a.view(0), b.view(0)], count, 'float32', op);
  assertSameElements(await out.readBack(), out.host, 'float32', 'n-ary premulSum');
  for (const m of [dst, src, a, b, out]) m.destroy();
});

test('premulSum: the products pass through the kernel\'s run-time rounding barrier (Params.opaque_zero)', async () => {
  // With opaque_zero = 1 instead of 0, every product's lowest bit flips before it is added: the
  // GPU must then give exactly that, which shows the barrier sits on both products and that the
  // compiler could not fold it (had it been folded, a contracting driver could fuse again).
  const count = 263;
  const { c, x, x0, x1 } = discriminatingInputs(count);
  const word = new Float32Array(1);
  const bits = new Uint32Array(word.buffer);
  const flipped = (product: number) => { word[0] = product; bits[0]! ^= 1; return word[0]!; };
  const s = PREMUL_SCALAR;
  const dispatch = ctx.dispatch;
  // params excludes word 0 (the unit count): opaque_zero is at its index among the fields.
  const opaqueZero = REDUCE_LAYOUT.fields.indexOf('opaque_zero');
  assert.ok(opaqueZero >= 0, 'Params has opaque_zero');
  ctx.dispatch = (encoder, variant, params, ...rest) => {
    const patched = params.slice();
    if (variant.entryPoint.startsWith('reduce')) patched[opaqueZero] = 1;
    dispatch.call(ctx, encoder, variant, patched, ...rest);
  };
  try {
    const op = premulSum(s);
    const dst = new Mirrored(bytesOf(c));
    const src = new Mirrored(bytesOf(x));
    await gpuReduceAccumulate(ctx, dst.region(0), [src.region(0)], count, 'float32', op);
    const want = Float32Array.from(c, (ci, i) => Math.fround(ci + flipped(Math.fround(x[i]! * s))));
    assertSameElements(await dst.readBack(), bytesOf(want), 'float32', 'accumulate with the barrier at 1');
    const a = new Mirrored(bytesOf(x0));
    const b = new Mirrored(bytesOf(x1));
    const out = new Mirrored(new Uint8Array(4 * count));
    await gpuReduceNary(ctx, out.region(0), [a.region(0), b.region(0)], count, 'float32', op);
    const wantNary = Float32Array.from(x0, (v, i) => Math.fround(flipped(Math.fround(v * s)) + flipped(Math.fround(x1[i]! * s))));
    assertSameElements(await out.readBack(), bytesOf(wantNary), 'float32', 'n-ary with the barrier at 1');
    for (const m of [dst, src, a, b, out]) m.destroy();
  } finally {
    ctx.dispatch = dispatch;
  }
});

test('reduce: several dispatches recorded into one caller encoder', async () => {
  const a = new Mirrored(randomBytes('int32', 'sum', 100, 5));
  const b = new Mirrored(randomBytes('int32', 'sum', 100, 6));
  const encoder = device.createCommandEncoder();
  encodeReduceNary(ctx, encoder, a.region(0), [a.region(0), b.region(0)], 100, 'int32', 'sum');
  encodeReduceNary(ctx, encoder, a.region(0), [a.region(0), b.region(0)], 100, 'int32', 'prod');
  device.queue.submit([encoder.finish()]);
  reduceNary(a.view(0), [a.view(0), b.view(0)], 100, 'int32', 'sum');
  reduceNary(a.view(0), [a.view(0), b.view(0)], 100, 'int32', 'prod');
  assertSameElements(await a.readBack(), a.host, 'int32', 'batched');
  a.destroy();
  b.destroy();
});

test('reduce: bad arguments are named and reject before any work', async () => {
  const buf = new Mirrored(new Uint8Array(64));
  const r = buf.region(0);
  await rejects(gpuReduceNary(ctx, buf.region(2), [r], 4, 'float32', 'sum'), /InvalidArgument: reduce float32 dst: byte offset 2 is not a non-negative multiple of 4/);
  await rejects(gpuReduceNary(ctx, r, [buf.region(6)], 4, 'float16', 'sum'), /reduce float16 source 0: byte offset 6/);
  await rejects(gpuReduceNary(ctx, r, [buf.region(56)], 4, 'int32', 'sum'), /reduce int32 source 0: needs 16 bytes at offset 56 but the buffer holds 64/);
  await rejects(gpuReduceAccumulate(ctx, r, [r], 17, 'float32', 'sum'), /reduce float32 dst: needs 68 bytes/);
  await rejects(gpuReduceNary(ctx, r, [r], 4, 'float64' as never, 'sum'), /unknown dtype float64/);
  await rejects(gpuReduceNary(ctx, r, [r], 4, 'float32', 'mean' as never), /unknown reduction op "mean"/);
  await rejects(gpuReduceNary(ctx, r, Array(9).fill(r), 4, 'float32', 'sum'), /9 sources given, between 1 and 8/);
  await rejects(gpuReduceAccumulate(ctx, r, Array(8).fill(r), 4, 'float32', 'sum'), /8 sources given, between 1 and 7/);
  await rejects(gpuReduceNary(ctx, r, [r], 1.5, 'float32', 'sum'), /count 1.5 is not a non-negative integer/);
  await rejects(gpuReduceNary(ctx, r, [r], 4, 'float32', 'sum', { workgroupSize: 100000 }), /workgroup size 100000 is not an integer/);
  await rejects(gpuFinishAverage(ctx, r, r, 4, 'int32', -2), /divisor -2/);
  const noStorage = device.createBuffer({ size: 64, usage: GPUBufferUsage.COPY_DST });
  await rejects(gpuReduceNary(ctx, r, [region(noStorage, 0)], 4, 'float32', 'sum'), /source 0: buffer lacks the usage flags/);
  assert.throws(() => encodeReduceNary(ctx, device.createCommandEncoder(), r, [r], 4, 'float32', premulSum(Infinity)), /unknown reduction op/);
  noStorage.destroy();
  buf.destroy();
});

test.run();
