// The cost model against measurement, all in one process so that every choice is measured
// side by side: for each transport and rank count, calibrate (lib/tune/calibrate.ts, as
// webccl-perf --calibrate does), open a world that reads the resulting tuning file ('auto'
// then runs the model's pick) and one per fixed choice, and for each size time ring, tree,
// direct and auto in turn, round after round, so that the machine's load falls on all of them
// alike. Each world repeats its own call, as a training loop does, so every choice reuses its
// plan (lib/comm/plan-memo.ts) as auto's does: alternated on one world, the fixed choices were
// planned every call, and auto's small calls came out 20-50% faster than the same algorithm's. Reports
// auto against the best fixed choice at each size, and every measured time against the
// model's prediction for the algorithm that ran.
//   node --import ./test/register.mjs bench/tune-sweep.ts [transports=inproc,tcp] [ranks=2,4] [-b 8] [-e 64M] [-r 7] [-f 4] [-k 4] [--mem gpu]
// A round's turn of one choice, up to BLOCK_MAX bytes, is one call and then -k more back to back,
// every rank in its own loop, timed from the moment every rank has ended the first to the end of
// the last (their mean): the steady state that webccl-perf and nccl-tests time (a barrier,
// warm-up, then iterations back to back; over their 20 calls the first's latency is a twentieth)
// and that calibration measures (blocks of calls from the first one's end), so prediction and
// measurement have one basis. A single call timed after the other three worlds' turns (-k 0, as before) finds
// the world idle since its last turn (threads asleep, caches taken by the others), which a world
// running its calls back to back does not meet: the model, fitted to calls in a row, came out
// 14-56% under such calls at 8 B-8 KiB (2 ranks, every transport and schedule). Past BLOCK_MAX
// a call is long enough that this does not show: one call, timed alone.
// --mem gpu: the ranks share one WebGPU device and reduce GPUBuffers (calibration then measures
// the model's GPU terms too, and every prediction is for GPU memory).
// WEBCCL_SWEEP_JSON=FILE also writes every point's error (signed too, with its rounds and their
// spread), every size's auto/best and each world's calibrated parameters as JSON (bench/tune-reprice.ts
// prices the same rounds again with the model as it is now), for pooling several runs: on a loaded host one
// run's figures move by more than a change to the model does. The error is reported against each
// point's median round, next to the rounds' own spread, and the worst tenth of the points grouped
// by size, algorithm and transport (tune-sweep-report.ts); WEBCCL_SWEEP_POINTS=1 prints every point.
// Ranks share this process's event loop, as webccl-perf --transport inproc's do.
import { Communicator, getUniqueId, type InitOptions } from '../lib/index.node.js';
import { calibrationComm, tuningWorld } from '../lib/comm/tuning.js';
import { calibrate } from '../lib/tune/calibrate.js';
import { predictSeconds } from '../lib/tune/model.js';
import { chooseAlgorithm } from '../lib/tune/select.js';
import { tuningFileText } from '../lib/tune/tuning-file.js';
import { parseBytes } from './perf/sizes.js';
import { betaCurveText, fixedOffsetsText } from './perf/explain.js';
import { createNodeDevice } from '../lib/gpu/node-device.js';
import { pointLine, pointStats, reportLines, type PointStats, type SweptWorld } from './tune-sweep-report.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => { const at = args.indexOf(name); return at >= 0 ? args[at + 1]! : fallback; };
const positional = args.filter((a, i) => !a.startsWith('-') && !args[i - 1]?.startsWith('-'));
const transports = (positional[0] ?? 'inproc,tcp').split(',');
const rankCounts = (positional[1] ?? '2,4').split(',').map(Number);
const minBytes = parseBytes(flag('-b', '8'));
const maxBytes = parseBytes(flag('-e', '64M'));
const rounds = Number(flag('-r', '7'));
const factor = Number(flag('-f', '4'));
const memory = flag('--mem', 'cpu');
const block = Number(flag('-k', '4'));
if (!Number.isInteger(block) || block < 0) throw new Error(`-k ${flag('-k', '')} is not a count of calls (0: one call alone, as before blocks)`);
if (memory !== 'cpu' && memory !== 'gpu') throw new Error(`--mem ${memory} is not cpu or gpu`);
const device = memory === 'gpu' ? await createNodeDevice() : undefined;
/** The direct exchange sends (n-1)x the bytes: past this it is never close, and slow to time. */
const DIRECT_MAX = 4 << 20;
/** Past this many bytes a turn is one call alone (see -k above). */
const BLOCK_MAX = 1 << 20;

async function world(transport: string, size: number, options: Partial<InitOptions>): Promise<Communicator[]> {
  const id = await getUniqueId({ transport });
  return Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, ...(device && { device }), ...options })));
}

/** One rank's in-place buffer of `bytes`: host ones, or GPUBuffers under --mem gpu. */
function buffer(bytes: number): Float32Array | GPUBuffer {
  if (!device) return new Float32Array(bytes / 4).fill(1);
  return device.createBuffer({ size: Math.max(4, bytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
}

/**
 * Runs a fresh world through its transport's buffers before it is timed, as calibration ran the
 * world it measured and as a user's world is after its first calls: a fresh shm world's first
 * pass through its 4 MiB rings per peer faults their pages in (2 shm ranks, 128 KiB direct
 * exchanges: 2.0, 1.6, 1.2, 1.0, 0.8, 0.7 ms a call over the first six blocks of 6 calls after
 * 5 untimed ones, 0.25-0.39 ms from the first block after 100; bench/tune-tail.ts). Without it
 * the ring column, timed on the calibrated world, ran warm where the direct exchange's and
 * auto's fresh worlds did not. Its 4 MiB and 16 MiB calls now go by reference on shm (segments
 * past 512 KiB, SHM_SINGLE_COPY_BYTES), not through the rings, and a fresh world's first few
 * hundred mid-size calls stayed slow: 256 direct exchanges of 32 KiB besides (8 MiB through each
 * of a rank's rings at 2 ranks). Without them the sweep's 32 KiB direct exchanges on shm ran at
 * 344-544 µs (2 ranks) and 1434-1691 (4 ranks), with them 140 and 241-244, the 4-rank tree at 128
 * KiB 2301-2679 against 410-540 (`WARM32` A/B, docs/PERFORMANCE.md tune15): the ring column,
 * on the calibrated world, had had thousands of calls; auto and the other columns thirty.
 */
async function warm(comms: Communicator[]): Promise<void> {
  for (const [algorithm, bytes, calls] of [['direct', 4 << 20, 2], ['ring', 16 << 20, 1], ['direct', 32 << 10, 256]] as const) {
    const buffers = comms.map(() => buffer(bytes));
    for (let i = 0; i < calls; i++) await Promise.all(comms.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, bytes / 4, 'float32', 'sum', { algorithm })));
    for (const b of buffers) if (!(b instanceof Float32Array)) b.destroy();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const errors: { where: string; error: number; signed: number; measuredUs: number; predictedUs: number; spread: number; beyond: number; roundsUs: number[] }[] = [];
/** Every point with its rounds, for the report of where the error is (tune-sweep-report.ts). */
const points: PointStats[] = [];
/** Under --mem gpu: the same points priced as host calls (the model without its GPU terms), for comparison. */
const hostErrors: number[] = [];
const ratios: { where: string; ratio: number; same: boolean; choice?: number }[] = [];
/** Each world's calibrated parameters and call shape, so that bench/tune-reprice.ts can price the same measurements with another model. */
const worlds: SweptWorld[] = [];

for (const transport of transports) {
  for (const np of rankCounts) {
    const plain = await world(transport, np, {});
    const started = performance.now();
    const [calibration] = await Promise.all(plain.map((comm) => calibrate(calibrationComm(comm))));
    const calibrationSeconds = (performance.now() - started) / 1000;
    const params = calibration!.params;
    // Opened after calibration, which then runs beside no more worlds than before.
    const fixedWorlds = new Map<string, Communicator[]>([['ring', plain], ['tree', await world(transport, np, {})], ['direct', await world(transport, np, {})]]);
    // Where the transport has a collective board (shm), it is a fixed choice too, and auto's to take.
    const hasBoard = plain[0]!.transport.board !== undefined;
    if (hasBoard) fixedWorlds.set('board', await world(transport, np, {}));
    const tuned = await world(transport, np, { tuning: tuningFileText(tuningWorld(np, plain[0]!.transport.description, device), params, calibrationSeconds) });
    if (!tuned[0]!.config.tuning) throw new Error('the tuned world did not adopt the tuning');
    for (const comms of [...fixedWorlds.values(), tuned]) await warm(comms);
    const { chunkBytes, pipelineDepth } = tuned[0]!.config;
    worlds.push({ transport, ranks: np, chunkBytes, pipelineDepth, memory: memory as 'cpu' | 'gpu', board: hasBoard, params });
    console.log(`\n# ${transport}, ${np} ranks: calibration ${calibrationSeconds.toFixed(2)} s: call ${(params.call * 1e6).toFixed(1)} us, alpha ${(params.alpha * 1e6).toFixed(1)} us, o ${(params.overhead * 1e6).toFixed(1)} us, beta ${(params.beta * 1e9).toFixed(3)} ns/B (${(1e-9 / params.beta).toFixed(2)} GB/s), gamma ${(params.gamma * 1e9).toFixed(3)} ns/B${params.board ? `; board ${(params.board.call * 1e6).toFixed(1)} us a call${params.board.collectives ? ` (${Object.entries(params.board.collectives).map(([name, s]) => `${name} ${(s * 1e6).toFixed(1)}`).join(', ')})` : ''}` : ''}${params.reference ? `; by reference (${params.reference.bytes} B and up) ${(params.reference.message * 1e6).toFixed(1)} us a message` : ''}${params.betaCurve.length > 0 ? `; ${betaCurveText(params)}` : ''}; ${fixedOffsetsText(params)}${params.gpu ? `; GPU: +${(params.gpu.call * 1e6).toFixed(1)} us a call, +${(params.gpu.message * 1e6).toFixed(1)} us a message, +${(params.gpu.stage * 1e9).toFixed(3)} ns/B staged, gamma ${(params.gpu.gamma * 1e9).toFixed(3)} ns/B` : ''}`);
    console.log('#      size       ring       tree     direct      board       auto  pick    best  auto/best  pred(auto)  err(auto)  worst err (algo)');
    for (let bytes = minBytes; bytes <= maxBytes; bytes *= factor) {
      const count = bytes / 4;
      const buffers = plain.map(() => buffer(bytes));
      const fixedRun = (name: string): [string, Communicator[], string | undefined] => [name, fixedWorlds.get(name)!, name];
      const runs: [string, Communicator[], string | undefined][] = [fixedRun('ring'), fixedRun('tree'), ['auto', tuned, undefined]];
      if (bytes <= DIRECT_MAX) runs.splice(2, 0, fixedRun('direct'));
      if (hasBoard) runs.splice(runs.length - 1, 0, fixedRun('board'));
      const times = new Map(runs.map(([name]) => [name, [] as number[]]));
      for (let round = -1; round < rounds; round++) {
        // Each round starts with the next one, so no choice always follows the same other.
        for (const [name, comms, algorithm] of runs.map((_, i) => runs[(i + round + 1) % runs.length]!)) {
          const run = (comm: Communicator, r: number) => comm.allReduce(buffers[r]!, buffers[r]!, count, 'float32', 'sum', algorithm ? { algorithm } : undefined);
          const calls = block > 0 && bytes <= BLOCK_MAX ? block : 0;
          // The block's lead call wakes this world (its peers, its caches) and lines its ranks up.
          if (calls > 0) await Promise.all(comms.map(run));
          let t0 = performance.now();
          // The stream is timed from the end of its first call on every rank: that call starts together, all its latency.
          let first = calls > 0 ? comms.length : 0;
          await Promise.all(comms.map(async (comm, r) => {
            for (let i = 0; i <= calls; i++) {
              await run(comm, r);
              if (i === 0 && first > 0 && --first === 0) t0 = performance.now();
            }
          }));
          // Round -1 warms each up (first use of a size: buffers, pools).
          if (round >= 0) times.get(name)!.push(((performance.now() - t0) * 1000) / Math.max(1, calls));
        }
      }
      const measured = new Map([...times].map(([name, t]) => [name, median(t)]));
      const call = { collective: 'allReduce' as const, bytes, ranks: np, chunkBytes, pipelineDepth, memory: memory as 'cpu' | 'gpu' };
      // What auto runs and predicts: the tuned world's own choice (lib/tune/select.ts).
      const choice = chooseAlgorithm('allReduce', bytes, np, tuned[0]!.config!, undefined, { dtype: 'float32', op: 'sum', board: hasBoard }, undefined, call.memory);
      const pick = { algorithm: choice.algorithm, seconds: choice.predicted ?? predictSeconds(choice.algorithm, call, params)! };
      const fixed = [...measured].filter(([name]) => name !== 'auto');
      const best = fixed.reduce((a, b) => (b[1] < a[1] ? b : a));
      const autoUs = measured.get('auto')!;
      let worst = { error: 0, name: '' };
      for (const [name, us] of measured) {
        const seconds = name === 'auto' ? pick.seconds : predictSeconds(name, call, params);
        // The direct exchange is timed past its formula's domain (for the comparison): no prediction there.
        if (seconds === undefined) continue;
        const point = pointStats({ transport, ranks: np, algorithm: name, ...(name === 'auto' && { ran: pick.algorithm }), bytes, predictedUs: seconds * 1e6, roundsUs: times.get(name)! });
        points.push(point);
        const error = point.error;
        errors.push({ where: `${transport} np${np} ${bytes}B ${name}`, error, signed: point.signed, measuredUs: us, predictedUs: point.predictedUs, spread: point.spread, beyond: point.beyond, roundsUs: times.get(name)! });
        const asHost = predictSeconds(name === 'auto' ? pick.algorithm : name, { ...call, memory: 'cpu' }, params);
        if (device && asHost !== undefined) hostErrors.push(Math.abs(asHost * 1e6 - us) / us);
        if (error > worst.error) worst = { error, name };
      }
      for (const b of buffers) if (!(b instanceof Float32Array)) b.destroy();
      // The pick's own fixed column against the best: the model's choice, without the noise between two worlds running one schedule.
      const pickUs = measured.get(pick.algorithm);
      ratios.push({ where: `${transport} np${np} ${bytes}B (auto ran ${pick.algorithm}, best ${best[0]})`, ratio: autoUs / best[1], same: pick.algorithm === best[0], ...(pickUs !== undefined && { choice: pickUs / best[1] }) });
      const cell = (name: string) => (measured.has(name) ? measured.get(name)!.toFixed(0) : '-').padStart(10);
      const predictedAuto = pick.seconds * 1e6;
      console.log(` ${String(bytes).padStart(9)} ${cell('ring')} ${cell('tree')} ${cell('direct')} ${cell('board')} ${cell('auto')}  ${pick.algorithm.padEnd(6)} ${best[0].padEnd(6)} ${(autoUs / best[1]).toFixed(2).padStart(9)} ${predictedAuto.toFixed(0).padStart(11)} ${((100 * (predictedAuto - autoUs)) / autoUs).toFixed(0).padStart(9)}%  ${(100 * worst.error).toFixed(0)}% (${worst.name})`);
    }
    await Promise.all([...[...fixedWorlds.values()].flat(), ...tuned].map((comm) => comm.destroy()));
  }
}

// For pooling several sweeps (bench noise): every point's error and every size's auto/best.
if (process.env['WEBCCL_SWEEP_JSON']) (await import('node:fs')).writeFileSync(process.env['WEBCCL_SWEEP_JSON'], JSON.stringify({ errors, ratios, points, worlds }));
if (process.env['WEBCCL_SWEEP_POINTS']) {
  console.log('\n# every point: predicted and median µs, its rounds\' range, signed error, error beyond that range');
  for (const p of points) console.log(pointLine(p));
}
console.log('');
for (const line of reportLines(points)) console.log(line);
if (hostErrors.length > 0) {
  const h = [...hostErrors].sort((a, b) => a - b);
  console.log(`# the same points priced as host memory (no GPU terms): median ${(100 * h[Math.floor(h.length / 2)]!).toFixed(0)}%, worst ${(100 * h.at(-1)!).toFixed(0)}%`);
}
const sortedRatios = [...ratios].sort((a, b) => a.ratio - b.ratio);
const chosen = ratios.filter((r) => r.choice !== undefined);
console.log(`# auto's pick, timed in its fixed column, against the best fixed: within 1.10 at ${chosen.filter((r) => r.choice! <= 1.1).length} of ${chosen.length} sizes (the model's choice alone: two worlds running one schedule differed up to 5.8x in one run)`);
console.log(`# auto / best fixed over ${ratios.length} sizes: median ${sortedRatios[Math.floor(ratios.length / 2)]!.ratio.toFixed(2)}, within 1.10 at ${ratios.filter((r) => r.ratio <= 1.1).length} (of the misses, ${ratios.filter((r) => r.ratio > 1.1 && r.same).length} where auto ran the best column's own algorithm: two columns of one schedule, noise), worst ${sortedRatios.at(-1)!.ratio.toFixed(2)} (${sortedRatios.at(-1)!.where})`);
