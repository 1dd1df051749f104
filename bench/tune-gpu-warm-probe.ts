// The GPU path's warm-up in a fresh process (gpu19): after one calibration (2 ranks, one device),
// 8-byte GPU allreduces timed as calibration times its GPU runs (each rank's median of 11 calls
// after one untimed, the slowest rank's), then again after PROBE_WARM (default 1024) more untimed
// 8-byte calls, then beside the sweep's way (bench/tune-sweep.ts: a buffer per rank, blocks of a
// lead call and 4 timed) on the calibrated world and on a fresh one, then two of the larger
// sizes calibration times on GPU memory both ways. Before calibration warmed the GPU path
// itself, its few-byte GPU runs met the cold calls (2 inproc ranks on lavapipe: 470-830 µs,
// against 340-420 after 1024 more, and the sweep's 330-420; docs/PERFORMANCE.md gpu19).
//   node --import ./test/register.mjs bench/tune-gpu-warm-probe.ts [transport=inproc] [rounds=5]
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { calibrationComm } from '../lib/comm/tuning.js';
import { calibrate } from '../lib/tune/calibrate.js';
import { createNodeDevice } from '../lib/gpu/node-device.js';

const transport = process.argv[2] ?? 'inproc';
const rounds = Number(process.argv[3] ?? '5');
const device = await createNodeDevice();
const id = await getUniqueId({ transport });
const comms = await Promise.all([0, 1].map((rank) => Communicator.init({ id, rank, size: 2, device })));
const cal = await Promise.all(comms.map((c) => calibrate(calibrationComm(c))));
const g = cal[0]!.params.gpu!;
console.log(`calibrated: call ${(g.call * 1e6).toFixed(0)} us, message ${(g.message * 1e6).toFixed(1)}, stage ${(g.stage * 1e9).toFixed(3)} ns/B, gamma ${(g.gamma * 1e9).toFixed(3)}, board ${g.board === undefined ? '-' : (g.board * 1e6).toFixed(0)}; host call ${(cal[0]!.params.call * 1e6).toFixed(1)} o ${(cal[0]!.params.overhead * 1e6).toFixed(1)}`);
const views = comms.map((c) => calibrationComm(c).gpu!);
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
async function single(algorithm: string, bytes: number, n: number): Promise<number> {
  const per = await Promise.all(views.map(async (v) => {
    await v.allReduce(bytes, algorithm);
    const t: number[] = [];
    for (let i = 0; i < n; i++) { const s = performance.now(); await v.allReduce(bytes, algorithm); t.push(performance.now() - s); }
    return med(t);
  }));
  return Math.max(...per) * 1000;
}
const line = (v: number[]) => `${med(v).toFixed(0)} [${v.map((x) => x.toFixed(0)).join(' ')}]`;
async function few(label: string): Promise<void> {
  const out: string[] = [];
  for (const algorithm of ['ring', 'tree', 'direct']) { const s: number[] = []; for (let r = 0; r < rounds; r++) s.push(await single(algorithm, 8, 11)); out.push(`${algorithm} ${line(s)}`); }
  console.log(`${label}: 8 B single-call (max of ranks' medians of 11): ${out.join('; ')}`);
}
await few('after calibration');
const warmCalls = Number(process.env['PROBE_WARM'] ?? '1024');
const started = performance.now();
for (let i = 0; i < warmCalls; i++) await Promise.all(views.map((v) => v.allReduce(8, ['ring', 'tree', 'direct'][Math.floor(i / 32) % 3]!)));
console.log(`${warmCalls} 8-byte calls (batches of 32 of ring, tree, direct) in ${(performance.now() - started).toFixed(0)} ms`);
await few(`after ${warmCalls} more`);
// The sweep's way: a buffer per rank made here, the communicator's own allReduce, blocks of 4.
async function sweepStyle(world: Communicator[], algorithm: string, bytes: number): Promise<number> {
  const bufs = world.map(() => device.createBuffer({ size: Math.max(4, bytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }));
  const run = (c: Communicator, r: number) => c.allReduce(bufs[r]!, bufs[r]!, bytes / 4, 'float32', 'sum', { algorithm });
  const out: number[] = [];
  for (let round = -1; round < rounds; round++) {
    await Promise.all(world.map(run));
    let t0 = performance.now(); let first = world.length;
    await Promise.all(world.map(async (c, r) => { for (let i = 0; i <= 4; i++) { await run(c, r); if (i === 0 && --first === 0) t0 = performance.now(); } }));
    if (round >= 0) out.push(((performance.now() - t0) * 1000) / 4);
  }
  for (const b of bufs) b.destroy();
  return med(out);
}
const freshId = await getUniqueId({ transport });
const fresh = await Promise.all([0, 1].map((rank) => Communicator.init({ id: freshId, rank, size: 2, device })));
for (let pass = 0; pass < 2; pass++) {
  const out: string[] = [];
  for (const algorithm of ['ring', 'tree', 'direct']) out.push(`${algorithm} calibrated world ${(await sweepStyle(comms, algorithm, 8)).toFixed(0)}, fresh world ${(await sweepStyle(fresh, algorithm, 8)).toFixed(0)}`);
  console.log(`sweep-style 8 B blocks (pass ${pass}): ${out.join('; ')}`);
  await few('calibration view');
}
// The larger runs calibration times on GPU memory (the direct exchange's eighth of a chunk, the ring's half chunk), both ways.
for (let pass = 0; pass < 2; pass++) {
  for (const [algorithm, bytes] of [['direct', 128 << 10], ['ring', 512 << 10]] as const) {
    const s: number[] = [];
    for (let r = 0; r < rounds; r++) s.push(await single(algorithm, bytes, 5));
    console.log(`${algorithm} ${bytes} B (pass ${pass}): single-call ${line(s)}, sweep-style on the calibrated world ${(await sweepStyle(comms, algorithm, bytes)).toFixed(0)}, on a fresh one ${(await sweepStyle(fresh, algorithm, bytes)).toFixed(0)}`);
  }
}
await Promise.all(fresh.map((c) => c.destroy()));
await Promise.all(comms.map((c) => c.destroy()));
process.exit(0);
