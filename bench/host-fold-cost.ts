// `node --import ./test/register.mjs bench/host-fold-cost.ts [--module ../lib/cpu/cast.js] [--type float16|bfloat16]
//    [--count N] [--runs N] [--op fold|narrow|widen|BLOCK-OP] [--block N] [--variant auto|baseline] [--arms typescript,native,memcpy]`
// The 16-bit host codec's work in ns per element, median of --runs runs over finite inputs (no
// NaN: the common case whose cost the NaN rule must not raise): --op fold is widenAccumulate (a
// ring hop's decode + accumulate of bf16/fp16 payloads in host memory), --op narrow is
// narrowBits (the encode), --op widen is widenBits (the plain decode). --arms lists what runs, round-robin inside each run so that all arms
// see the same load: `typescript` (the cast module --module names, so an older copy of
// lib/cpu/cast.ts can be timed against the current one in turns), `native` (the addon's
// halfWidenAccumulate/halfNarrow/halfWiden) and `memcpy` (the addon copying the accumulator's bytes, 4 per
// element: the bandwidth reference). One line per arm.
// The block codecs' ops (BLOCK-OP; --block sets the block size, default 64 for int8, 128 for onebit):
// int8-encode (int8Quantize), int8-feedback (int8QuantizeWithFeedback), int8-decode,
// int8-fold (int8DequantizeAccumulate), onebit-encode (onebitCompress, residual always),
// onebit-decode, onebit-fold, over values like the 16-bit ops' (sin(i) * 4): `typescript` is
// lib/cpu/block-kernels.ts's TypeScript loops, `native` the addon's (native/src/block-codecs.cc),
// the CPU's best build, or with --variant baseline the one CPUs without AVX2 run.
import { parseArgs } from 'node:util';
import { TYPESCRIPT_BLOCK_KERNELS } from '../lib/cpu/block-kernels.js';
import { nativeBlockKernels } from '../lib/native/block-codecs.js';
import { loadNative } from '../lib/native/load.js';

const { values: args } = parseArgs({
  options: {
    module: { type: 'string', default: '../lib/cpu/cast.js' },
    type: { type: 'string', default: 'bfloat16' },
    count: { type: 'string', default: '1048576' },
    runs: { type: 'string', default: '15' },
    op: { type: 'string', default: 'fold' },
    block: { type: 'string' },
    variant: { type: 'string', default: 'auto' },
    arms: { type: 'string', default: 'typescript' },
  },
});
const cast = (await import(args.module!)) as typeof import('../lib/cpu/cast.js');
const half = args.type as 'float16' | 'bfloat16';
if (half !== 'float16' && half !== 'bfloat16') throw new Error(`--type ${half}: expected float16 or bfloat16`);
const op = args.op!;
const BLOCK_OPS = ['int8-encode', 'int8-feedback', 'int8-decode', 'int8-fold', 'onebit-encode', 'onebit-decode', 'onebit-fold'];
if (!['fold', 'narrow', 'widen', ...BLOCK_OPS].includes(op)) throw new Error(`--op ${op}: expected fold, narrow, widen or one of ${BLOCK_OPS.join(', ')}`);
const count = Number(args.count);
const arms = args.arms!.split(',');
const unknown = arms.find((arm) => !['typescript', 'native', 'memcpy'].includes(arm));
if (unknown !== undefined) throw new Error(`--arms: unknown arm ${unknown} (expected typescript, native or memcpy)`);

const loaded = loadNative();
const addon = 'addon' in loaded ? loaded.addon : undefined;
const needs = BLOCK_OPS.includes(op) ? 'onebitCompress' : 'halfWidenAccumulate';
if (arms.some((arm) => arm !== 'typescript') && !addon?.[needs]) {
  throw new Error(`--arms ${args.arms}: needs the addon with ${needs} (${'unavailable' in loaded ? loaded.unavailable : 'an older build'})`);
}

const narrowFrom = Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 4);
const narrowFromBits = new Uint32Array(narrowFrom.buffer);
const src = new Uint16Array(count);
cast.narrowBits(half, src, narrowFromBits);
const acc = Float32Array.from({ length: count }, (_, i) => Math.cos(i));
const copy = new Float32Array(count);
const widened = new Uint32Array(count);

if (args.variant !== 'auto' && args.variant !== 'baseline') throw new Error(`--variant ${args.variant}: expected auto or baseline`);
if (BLOCK_OPS.includes(op) && addon?.blockCodecSelectVariant) addon.blockCodecSelectVariant(args.variant);
const family = op.startsWith('onebit') ? 'onebit' : 'int8';
const blockSize = Number(args.block ?? (family === 'int8' ? 64 : 128));
const blocks = {
  packed: new Uint32Array(Math.ceil(count / (family === 'int8' ? 4 : 32))),
  scales: new Float32Array(Math.ceil(count / blockSize)),
};
const residual = new Float32Array(count);
/** The block ops of one implementation (the payload in `blocks` is encoded from narrowFrom first). */
function blockWork(kernels: typeof TYPESCRIPT_BLOCK_KERNELS): Record<string, () => void> {
  return {
    'int8-encode': () => kernels.int8Quantize(narrowFrom, undefined, count, blockSize, blocks),
    'int8-feedback': () => kernels.int8Quantize(narrowFrom, residual, count, blockSize, blocks),
    'int8-decode': () => kernels.int8Dequantize(blocks.packed, blocks.scales, count, blockSize, copy, false),
    'int8-fold': () => kernels.int8Dequantize(blocks.packed, blocks.scales, count, blockSize, acc, true),
    'onebit-encode': () => kernels.onebitCompress(narrowFrom, residual, count, blockSize, { signs: blocks.packed, scales: blocks.scales }),
    'onebit-decode': () => kernels.onebitDecompress(blocks.packed, blocks.scales, count, blockSize, copy, false),
    'onebit-fold': () => kernels.onebitDecompress(blocks.packed, blocks.scales, count, blockSize, acc, true),
  };
}
if (BLOCK_OPS.includes(op)) blockWork(TYPESCRIPT_BLOCK_KERNELS)[`${family}-${family === 'int8' ? 'feedback' : 'encode'}`]!();

const work: Record<string, () => void> = {
  typescript: { fold: () => cast.widenAccumulate(half, acc, src), narrow: () => cast.narrowBits(half, src, narrowFromBits), widen: () => cast.widenBits(half, widened, src), ...blockWork(TYPESCRIPT_BLOCK_KERNELS) }[op]!,
  native: addon ? { fold: () => addon.halfWidenAccumulate!(half, acc, src), narrow: () => addon.halfNarrow!(half, src, narrowFromBits), widen: () => addon.halfWiden!(half, widened, src), ...blockWork(nativeBlockKernels(addon, TYPESCRIPT_BLOCK_KERNELS)) }[op]! : () => {},
  memcpy: () => addon!.memcpy(copy, acc),
};

const WARMUP = 5;
const times = new Map(arms.map((arm) => [arm, [] as number[]]));
for (let run = 0; run < WARMUP + Number(args.runs); run++) {
  for (const arm of arms) {
    const start = process.hrtime.bigint();
    work[arm]!();
    const ns = Number(process.hrtime.bigint() - start);
    if (run >= WARMUP) times.get(arm)!.push(ns / count); // the first runs warm the JIT up
  }
  // Keep acc bounded so every run adds numbers of the same size.
  if (run % 4 === 3) acc.fill(0.5);
}
for (const arm of arms) {
  const sorted = times.get(arm)!.sort((a, b) => a - b);
  const name = arm === 'typescript' ? (BLOCK_OPS.includes(op) ? 'typescript' : args.module) : arm === 'native' && BLOCK_OPS.includes(op) ? `native(${args.variant})` : arm;
  const what = BLOCK_OPS.includes(op) ? `block ${blockSize}` : half;
  console.log(`${name} ${op} ${what} ${count}: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} ns/element (min ${sorted[0]!.toFixed(3)})`);
}
