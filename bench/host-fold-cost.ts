// `node --import ./test/register.mjs bench/host-fold-cost.ts [--module ../lib/cpu/cast.js] [--type float16|bfloat16] [--count N] [--runs N]`
// The TypeScript 16-bit host fold (widenAccumulate: a ring hop's decode + accumulate of bf16/fp16
// payloads in host memory) in ns per element, median of --runs runs over finite inputs (no NaN:
// the common case whose cost the NaN rule must not raise). --module names the cast module to
// load, so an older copy of lib/cpu/cast.ts can be timed against the current one in turns.
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { module: { type: 'string', default: '../lib/cpu/cast.js' }, type: { type: 'string', default: 'bfloat16' }, count: { type: 'string', default: '1048576' }, runs: { type: 'string', default: '15' } },
});
const cast = (await import(args.module!)) as typeof import('../lib/cpu/cast.js');
const half = args.type as 'float16' | 'bfloat16';
const count = Number(args.count);
const src = new Uint16Array(count);
const narrowFrom = Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 4);
cast.narrowBits(half, src, new Uint32Array(narrowFrom.buffer));
const acc = Float32Array.from({ length: count }, (_, i) => Math.cos(i));
const WARMUP = 5;
const times: number[] = [];
for (let run = 0; run < WARMUP + Number(args.runs); run++) {
  const start = process.hrtime.bigint();
  cast.widenAccumulate(half, acc, src);
  const ns = Number(process.hrtime.bigint() - start);
  // Keep acc bounded so every run adds numbers of the same size.
  if (run % 4 === 3) acc.fill(0.5);
  if (run >= WARMUP) times.push(ns / count); // the first runs warm the JIT up
}
times.sort((a, b) => a - b);
console.log(`${args.module} ${half} ${count}: ${times[Math.floor(times.length / 2)]!.toFixed(3)} ns/element (min ${times[0]!.toFixed(3)})`);
