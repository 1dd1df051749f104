// `node --import ./test/register.mjs bench/native-reduce.ts [--sizes 64K,1M,64M] [--dtypes float32,float16]
//    [--ops sum,max,avg] [--runs N] [--oracle-runs N] [--before OTHER.node [--before-variant NAME]]`
// The native SIMD reduction (dst = dst op src) next to a native memcpy of the same bytes and the
// TypeScript oracle, measured in the same run (DESIGN.md: ratios, never a bare number). GB/s is
// memory traffic: a reduce reads dst and src and writes dst (3 × bytes), a memcpy reads one
// buffer and writes the other (2 × bytes); "ratio" is reduce traffic ÷ memcpy traffic, i.e. the
// share of the copy's memory bandwidth the reduction reaches. Op avg times finishAverage
// (dst = src / 3: 2 × bytes, like the copy), the step avg adds after its sums. --before loads a
// second build of the addon (an earlier commit's, say) and times it interleaved with this one
// (--before-variant: that build running one of its variants, as --variants names them);
// --variants avx2+f16c,baseline times other builds of the loops in this addon (reduceSelectVariant),
// interleaved the same way, each as GB/s and its ratio to memcpy.
// Each figure is the fastest of the runs (batches of at least 10 ms), interleaved: on a shared
// machine the fastest run is the one other processes disturbed least, for every contestant
// alike. --oracle-runs 0 skips the slow TypeScript column.
import { parseArgs } from 'node:util';
import { elementBytes, type DataType, type SimpleOp } from '../lib/dtype.js';
import { finishAverage, reduceAccumulate } from '../lib/cpu/reduce.js';
import { describeUnavailable, loadNative, type NativeAddon } from '../lib/native/load.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '64K,1M,16M,64M' },
    dtypes: { type: 'string', default: 'float32,float16,bfloat16,int32' },
    ops: { type: 'string', default: 'sum' },
    runs: { type: 'string', default: '9' },
    'oracle-runs': { type: 'string', default: '3' },
    before: { type: 'string' },
    'before-variant': { type: 'string' },
    variants: { type: 'string', default: '' },
  },
});

function addonAt(path?: string): NativeAddon {
  const loaded = loadNative(path);
  if ('addon' in loaded) return loaded.addon;
  console.error(`native-reduce: ${describeUnavailable(loaded)}`);
  process.exit(1);
}
const addon = addonAt();
const before = args.before === undefined ? undefined : addonAt(args.before);
const beforeVariant = args['before-variant'];
if (beforeVariant !== undefined && before?.reduceSelectVariant?.(beforeVariant) !== beforeVariant) throw new Error(`--before-variant ${beforeVariant}: needs --before, and a build that runs that variant here`);
const variants = args.variants === '' ? [] : args.variants.split(',');
if (variants.length > 0 && !addon.reduceSelectVariant) throw new Error('--variants: this addon has no reduceSelectVariant (rebuild it)');

function parseSize(text: string): number {
  const match = /^(\d+)([KMG]?)$/i.exec(text.trim());
  if (!match) throw new Error(`bad size ${text}`);
  return Number(match[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
}

/** Seconds per call of `fn`, repeated until a timed batch lasts at least 10 ms. */
function secondsPerCall(fn: () => void): number {
  for (let reps = 1; ; reps *= 2) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsed >= 0.01) return elapsed / reps;
  }
}

const fastest = (values: number[]) => (values.length === 0 ? NaN : Math.max(...values));
const runs = Number(args.runs);
const oracleRuns = Number(args['oracle-runs']);

/** GB/s of memory traffic of one call of the native op on `lib`. */
function nativeRate(lib: NativeAddon, dtype: DataType, op: SimpleOp, dst: Uint8Array, src: Uint8Array): number {
  const bytes = dst.byteLength;
  if (op === 'avg') return 2 * bytes / secondsPerCall(() => lib.finishAverage(dtype, dst, src, 3)) / 1e9;
  return 3 * bytes / secondsPerCall(() => lib.reduceAccumulate(dtype, op, dst, src)) / 1e9;
}

console.log(`native reduction (${addon.reduceVariant}) vs native memcpy vs TypeScript, dst = dst op src`);
if (before) console.log(`before: ${args.before} (${beforeVariant ?? before.reduceVariant})`);
const variantHeads = variants.map((name) => `  ${name.padStart(11)}  ratio`).join('');
console.log(`dtype      op    bytes       memcpy GB/s  native GB/s  ratio  ts GB/s  native/ts${before ? '  before GB/s  ratio' : ''}${variantHeads}`);
for (const dtype of args.dtypes.split(',') as DataType[]) {
  for (const op of args.ops.split(',') as SimpleOp[]) for (const bytes of args.sizes.split(',').map(parseSize)) {
    const count = bytes / elementBytes(dtype);
    // Small integers and ordinary floats: the bits of 1.0 for floats keep sums finite and un-NaN.
    const dst = new Uint8Array(bytes).fill(0x3c);
    const src = new Uint8Array(bytes).fill(0x3c);
    const copyTo = new Uint8Array(bytes);
    const copy: number[] = [];
    const native: number[] = [];
    const ts: number[] = [];
    const old: number[] = [];
    const others: number[][] = variants.map(() => []);
    for (let run = 0; run < runs; run++) {
      copy.push(2 * bytes / secondsPerCall(() => addon.memcpy(copyTo, src)) / 1e9);
      native.push(nativeRate(addon, dtype, op, dst, src));
      if (before) old.push(nativeRate(before, dtype, op, dst, src));
      variants.forEach((name, v) => {
        addon.reduceSelectVariant!(name);
        others[v]!.push(nativeRate(addon, dtype, op, dst, src));
        addon.reduceSelectVariant!('auto');
      });
      if (run >= oracleRuns) continue;
      if (op === 'avg') ts.push(2 * bytes / secondsPerCall(() => finishAverage(dst, src, count, dtype, 3)) / 1e9);
      else ts.push(3 * bytes / secondsPerCall(() => reduceAccumulate(dst, [src], count, dtype, op)) / 1e9);
    }
    const [c, n, t] = [fastest(copy), fastest(native), fastest(ts)];
    const o = before ? `  ${fastest(old).toFixed(2).padStart(11)}  ${(fastest(old) / c).toFixed(2).padStart(5)}` : '';
    const v = others.map((rates) => `  ${fastest(rates).toFixed(2).padStart(11)}  ${(fastest(rates) / c).toFixed(2).padStart(5)}`).join('');
    console.log(`${dtype.padEnd(10)} ${op.padEnd(5)} ${String(bytes).padStart(10)}  ${c.toFixed(2).padStart(11)}  ${n.toFixed(2).padStart(11)}  ${(n / c).toFixed(2).padStart(5)}  ${t.toFixed(2).padStart(7)}  ${(n / t).toFixed(1).padStart(9)}${o}${v}`);
  }
}
