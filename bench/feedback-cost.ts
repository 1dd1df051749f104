// `node --import ./test/register.mjs bench/feedback-cost.ts [--roots ..,/tmp/old] [--count N] [--runs N] [--block N]`
// The host's error-feedback encode in ns per element: int8QuantizeWithFeedback (lib/cpu/int8.ts)
// and onebitCompress with a residual (lib/cpu/onebit.ts), finite inputs (the poisoned-block reset
// is never taken: what it costs is the check). --roots lists trees whose lib/cpu modules are
// loaded (relative to this file's folder, or absolute: e.g. an older commit's `git archive` of
// lib/ in /tmp); they run round-robin inside each run so that all see the same load. Median of
// --runs runs after 5 warm-up ones, one line per root and codec.
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    roots: { type: 'string', default: '..' },
    count: { type: 'string', default: '1048576' },
    runs: { type: 'string', default: '15' },
    block: { type: 'string', default: '256' },
  },
});
const count = Number(args.count);
const blockSize = Number(args.block);
const roots = args.roots!.split(',');
// Absolute URLs of the .ts sources (test/register.mjs maps only relative './x.js' imports).
const url = (root: string, module: string) => new URL(`${root}/lib/cpu/${module}.ts`, root.startsWith('/') ? 'file:///' : import.meta.url).href;
const trees = await Promise.all(
  roots.map(async (root) => ({
    root,
    int8: (await import(url(root, 'int8'))) as typeof import('../lib/cpu/int8.js'),
    onebit: (await import(url(root, 'onebit'))) as typeof import('../lib/cpu/onebit.js'),
  })),
);

const x = Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 4);
const residual = new Float32Array(count);
const WARMUP = 5;
type Codec = 'int8' | 'onebit';
const times = new Map<string, number[]>();
for (let run = 0; run < WARMUP + Number(args.runs); run++) {
  for (const codec of ['int8', 'onebit'] as Codec[]) {
    // The order flips every run, so neither tree always runs on the cache the other left.
    for (const tree of run % 2 === 0 ? trees : [...trees].reverse()) {
      // The same residual for every tree in a run: small values, as after a few steps.
      residual.fill(0.01);
      const start = process.hrtime.bigint();
      if (codec === 'int8') tree.int8.int8QuantizeWithFeedback(x, residual, count, blockSize);
      else tree.onebit.onebitCompress(x, residual, count, blockSize);
      const ns = Number(process.hrtime.bigint() - start);
      const key = `${tree.root} ${codec}`;
      if (run >= WARMUP) times.set(key, [...(times.get(key) ?? []), ns / count]);
    }
  }
}
for (const [key, list] of times) {
  list.sort((a, b) => a - b);
  console.log(`${key} ${count} block ${blockSize}: ${list[Math.floor(list.length / 2)]!.toFixed(3)} ns/element (min ${list[0]!.toFixed(3)})`);
}
