// `node --import ./test/register.mjs bench/host-fold-cost.ts [--module ../lib/cpu/cast.js] [--type float16|bfloat16]
//    [--count N] [--runs N] [--op fold|narrow|widen] [--arms typescript,native,memcpy]`
// The 16-bit host codec's work in ns per element, median of --runs runs over finite inputs (no
// NaN: the common case whose cost the NaN rule must not raise): --op fold is widenAccumulate (a
// ring hop's decode + accumulate of bf16/fp16 payloads in host memory), --op narrow is
// narrowBits (the encode), --op widen is widenBits (the plain decode). --arms lists what runs, round-robin inside each run so that all arms
// see the same load: `typescript` (the cast module --module names, so an older copy of
// lib/cpu/cast.ts can be timed against the current one in turns), `native` (the addon's
// halfWidenAccumulate/halfNarrow/halfWiden) and `memcpy` (the addon copying the accumulator's bytes, 4 per
// element: the bandwidth reference). One line per arm.
import { parseArgs } from 'node:util';
import { loadNative } from '../lib/native/load.js';

const { values: args } = parseArgs({
  options: {
    module: { type: 'string', default: '../lib/cpu/cast.js' },
    type: { type: 'string', default: 'bfloat16' },
    count: { type: 'string', default: '1048576' },
    runs: { type: 'string', default: '15' },
    op: { type: 'string', default: 'fold' },
    arms: { type: 'string', default: 'typescript' },
  },
});
const cast = (await import(args.module!)) as typeof import('../lib/cpu/cast.js');
const half = args.type as 'float16' | 'bfloat16';
if (half !== 'float16' && half !== 'bfloat16') throw new Error(`--type ${half}: expected float16 or bfloat16`);
const op = args.op!;
if (op !== 'fold' && op !== 'narrow' && op !== 'widen') throw new Error(`--op ${op}: expected fold, narrow or widen`);
const count = Number(args.count);
const arms = args.arms!.split(',');
const unknown = arms.find((arm) => !['typescript', 'native', 'memcpy'].includes(arm));
if (unknown !== undefined) throw new Error(`--arms: unknown arm ${unknown} (expected typescript, native or memcpy)`);

const loaded = loadNative();
const addon = 'addon' in loaded ? loaded.addon : undefined;
if (arms.some((arm) => arm !== 'typescript') && !addon?.halfWidenAccumulate) {
  throw new Error(`--arms ${args.arms}: needs the addon with halfWidenAccumulate (${'unavailable' in loaded ? loaded.unavailable : 'an older build'})`);
}

const narrowFrom = Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 4);
const narrowFromBits = new Uint32Array(narrowFrom.buffer);
const src = new Uint16Array(count);
cast.narrowBits(half, src, narrowFromBits);
const acc = Float32Array.from({ length: count }, (_, i) => Math.cos(i));
const copy = new Float32Array(count);
const widened = new Uint32Array(count);

const work: Record<string, () => void> = {
  typescript: { fold: () => cast.widenAccumulate(half, acc, src), narrow: () => cast.narrowBits(half, src, narrowFromBits), widen: () => cast.widenBits(half, widened, src) }[op],
  native: { fold: () => addon!.halfWidenAccumulate!(half, acc, src), narrow: () => addon!.halfNarrow!(half, src, narrowFromBits), widen: () => addon!.halfWiden!(half, widened, src) }[op],
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
  const name = arm === 'typescript' ? args.module : arm;
  console.log(`${name} ${op} ${half} ${count}: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} ns/element (min ${sorted[0]!.toFixed(3)})`);
}
