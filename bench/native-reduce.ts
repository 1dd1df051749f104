// `node --import ./test/register.mjs bench/native-reduce.ts [--sizes 64K,1M,64M] [--dtypes float32,float16] [--runs N]`
// The native SIMD reduction (dst = dst + src) next to a native memcpy of the same bytes and the
// TypeScript oracle, measured in the same run (DESIGN.md: ratios, never a bare number). GB/s is
// memory traffic: a reduce reads dst and src and writes dst (3 × bytes), a memcpy reads one
// buffer and writes the other (2 × bytes); "ratio" is reduce traffic ÷ memcpy traffic, i.e. the
// share of the copy's memory bandwidth the reduction reaches. Median of the runs, interleaved so
// that load that comes and goes on a shared machine skews both sides alike.
import { parseArgs } from 'node:util';
import { elementBytes, type DataType } from '../lib/dtype.js';
import { reduceAccumulate } from '../lib/cpu/reduce.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '64K,1M,16M,64M' },
    dtypes: { type: 'string', default: 'float32,float16,bfloat16,int32' },
    runs: { type: 'string', default: '7' },
  },
});

const loaded = loadNative();
if (!('addon' in loaded)) {
  console.error(`native-reduce: ${describeUnavailable(loaded)}`);
  process.exit(1);
}
const addon = loaded.addon;

function parseSize(text: string): number {
  const match = /^(\d+)([KMG]?)$/i.exec(text.trim());
  if (!match) throw new Error(`bad size ${text}`);
  return Number(match[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
}

/** Seconds per call of `fn`, repeated until a timed batch lasts at least 50 ms. */
function secondsPerCall(fn: () => void): number {
  for (let reps = 1; ; reps *= 2) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsed >= 0.05) return elapsed / reps;
  }
}

const median = (values: number[]) => values.slice().sort((a, b) => a - b)[values.length >> 1]!;
const runs = Number(args.runs);

console.log(`native reduction (${addon.reduceVariant}) vs native memcpy vs TypeScript, dst = dst + src`);
console.log('dtype      bytes       memcpy GB/s  native GB/s  ratio  ts GB/s  native/ts');
for (const dtype of args.dtypes.split(',') as DataType[]) {
  for (const bytes of args.sizes.split(',').map(parseSize)) {
    const count = bytes / elementBytes(dtype);
    // Small integers and ordinary floats: the bits of 1.0 for floats keep sums finite and un-NaN.
    const dst = new Uint8Array(bytes).fill(0x3c);
    const src = new Uint8Array(bytes).fill(0x3c);
    const copyTo = new Uint8Array(bytes);
    const copy: number[] = [];
    const native: number[] = [];
    const ts: number[] = [];
    for (let run = 0; run < runs; run++) {
      copy.push(2 * bytes / secondsPerCall(() => addon.memcpy(copyTo, src)) / 1e9);
      native.push(3 * bytes / secondsPerCall(() => addon.reduceAccumulate(dtype, 'sum', dst, src)) / 1e9);
      if (run < 3) ts.push(3 * bytes / secondsPerCall(() => reduceAccumulate(dst, [src], count, dtype, 'sum')) / 1e9);
    }
    const [c, n, t] = [median(copy), median(native), median(ts)];
    console.log(`${dtype.padEnd(10)} ${String(bytes).padStart(10)}  ${c.toFixed(2).padStart(11)}  ${n.toFixed(2).padStart(11)}  ${(n / c).toFixed(2).padStart(5)}  ${t.toFixed(2).padStart(7)}  ${(n / t).toFixed(1).padStart(9)}`);
  }
}
