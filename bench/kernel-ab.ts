// `node --import ./test/register.mjs bench/kernel-ab.ts --old DIR [--new DIR] --filter REGEX
//  [--rounds N] [--mib N] [--reps R]`: the same benchmark cases (bench/kernel-cases) of two source trees
// (e.g. `git archive BASE | tar -x -C DIR` beside the working tree), loaded into one process on
// one device and timed in turn (old, new, copy kernel, old, new, copy, ...) for --rounds rounds.
// Load on a shared machine then falls on both sides alike. Prints, per case, the median (and
// best) of each side's ratio to the copy kernel by CPU time of this process (a software
// adapter's threads are ours) and by wall time, and how many rounds new beat old.
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createNodeDevice, PRECISE_TIMESTAMPS_FLAG } from '../lib/gpu/node-device.js';
import type { KernelCase, KernelCaseList, PreparedCase } from './kernel-cases/case.js';

const { values: args } = parseArgs({
  options: {
    old: { type: 'string' }, new: { type: 'string', default: '.' }, filter: { type: 'string' },
    rounds: { type: 'string', default: '15' }, mib: { type: 'string', default: '32' }, reps: { type: 'string', default: '2' },
  },
});
if (!args.old || !args.filter) throw new Error('kernel-ab: --old DIR and --filter REGEX are required');
const filter = new RegExp(args.filter);
const rounds = Number(args.rounds);
const reps = Number(args.reps);
const payloadBytes = Number(args.mib) * 2 ** 20;

const device = await createNodeDevice({ dawnFlags: [PRECISE_TIMESTAMPS_FLAG] });

interface Tree { ctx: { isSoftwareAdapter: boolean }; cases: KernelCase[]; reference: KernelCase }
async function loadTree(dir: string): Promise<Tree> {
  const root = pathToFileURL(resolve(dir) + '/').href;
  const { GpuContext } = await import(`${root}lib/gpu/context.ts`);
  const { referenceCase } = await import(`${root}bench/kernel-cases/reference.ts`);
  const cases: KernelCase[] = [];
  for (const file of readdirSync(new URL('bench/kernel-cases/', root)).filter((f) => f.endsWith('.ts')).sort()) {
    const module = (await import(`${root}bench/kernel-cases/${file}`)) as { kernelCases?: KernelCaseList };
    if (module.kernelCases) cases.push(...module.kernelCases(payloadBytes).filter((c) => filter.test(c.name)));
  }
  return { ctx: GpuContext.for(device), cases, reference: referenceCase('copy', payloadBytes) };
}
const oldTree = await loadTree(args.old);
const newTree = await loadTree(args.new!);

/** CPU and wall milliseconds of one submission of `reps` runs, after it completes. */
async function time(prepared: PreparedCase): Promise<{ cpu: number; wall: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const encoder = device.createCommandEncoder();
  for (let r = 0; r < reps; r++) prepared.record(encoder);
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1e3, wall: performance.now() - start };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
const copy = newTree.reference.setup(newTree.ctx as never);
for (const oldCase of oldTree.cases) {
  const newCase = newTree.cases.find((c) => c.name === oldCase.name);
  if (!newCase) continue;
  const sides = [oldCase.setup(oldTree.ctx as never), newCase.setup(newTree.ctx as never)];
  for (const p of [...sides, copy]) { await time(p); await time(p); }
  const ratios = { cpu: [[], []] as number[][], wall: [[], []] as number[][] };
  let newWins = 0;
  for (let r = 0; r < rounds; r++) {
    const o = await time(sides[0]!);
    const n = await time(sides[1]!);
    const c = await time(copy);
    // Bytes per ms relative to the copy's (which moves 2 x payload).
    const rel = (t: number, ref: number) => (oldCase.bytesMoved / t) / (2 * payloadBytes / ref);
    ratios.cpu[0]!.push(rel(o.cpu, c.cpu)); ratios.cpu[1]!.push(rel(n.cpu, c.cpu));
    ratios.wall[0]!.push(rel(o.wall, c.wall)); ratios.wall[1]!.push(rel(n.wall, c.wall));
    if (n.cpu < o.cpu) newWins++;
  }
  for (const p of sides) p.dispose();
  const fmt = (v: number[]) => `${pct(median(v))} (best ${pct(Math.max(...v))})`;
  console.log(`${oldCase.name}: CPU ${fmt(ratios.cpu[0]!)} -> ${fmt(ratios.cpu[1]!)}; wall ${fmt(ratios.wall[0]!)} -> ${fmt(ratios.wall[1]!)}; new faster by CPU in ${newWins}/${rounds}`);
}
copy.dispose();
device.destroy();
