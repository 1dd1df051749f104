// Does one schedule's run slow another's after it? A process first makes PRE_CALLS allreduces of
// PRE_BYTES with the PRE schedule (untimed; none with PRE_CALLS=0), then times blocks of BLOCK
// back-to-back allreduces of MAIN_BYTES with the MAIN schedule, and rank 0 prints the median
// time per call over the blocks. 4 tcp processes' auto sweeps ran the tree at 128–512 KiB 1.3–2x
// slower after 32 KiB direct exchanges than after the tree's own smaller calls (docs/PERFORMANCE.md,
// jit28); timed for longer, that was V8 settling after the change (fresh29: 1000–2000 calls, then
// level whatever came before; SERIES=1 shows it). With PROFILE_DIR set, each rank
// writes a CPU profile of the timed blocks alone (PROFILE_DIR/mainN.cpuprofile; read it with
// `node bench/cpu-profile.mjs --top DIR`).
// PIN=1 pins each rank's threads to one CPU (rank mod the CPUs, `taskset -a`): is it where the
// scheduler placed the ranks?
// SPLIT=1 times the MAIN calls on a communicator split off after the PRE calls (new
// communicator state, the same transport): is it the communicator's or the transport's?
// FRESH=1 times the MAIN calls on a new world made in the same process after the PRE calls (the
// first destroyed: new sockets and transport, the same compiled code): is it the transport's state
// or V8's?
// SERIES=1 also prints how the time per call moves over the timed blocks.
// PRE and MAIN name a schedule to pass with every call, or 'auto' (the default) for the
// communicator's own choice (a tuning file's: WEBCCL_TUNING_FILE).
//   WEBCCL_TRANSPORT=tcp PRE=direct node --import ./test/register.mjs bin/webccl-run.ts -np 4 bench/mixed-schedules.ts
import { execFileSync } from 'node:child_process';
import { Session } from 'node:inspector';
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Communicator } from '../lib/index.node.js';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const [pre, preBytes, preCalls] = [env('PRE', 'auto'), Number(env('PRE_BYTES', '32768')), Number(env('PRE_CALLS', '2000'))];
const [main, mainBytes, blocks, block] = [env('MAIN', 'auto'), Number(env('MAIN_BYTES', '524288')), Number(env('BLOCKS', '15')), Number(env('BLOCK', '20'))];
const profileDir = process.env['PROFILE_DIR'];

let comm = await Communicator.fromEnv();
if (process.env['PIN'] === '1') execFileSync('taskset', ['-a', '-cp', String(comm.rank % availableParallelism()), String(process.pid)], { stdio: 'ignore' });
// 'auto': the communicator's own choice, with no per-call options (as webccl-perf calls it).
const run = async (algorithm: string, bytes: number, calls: number, on = comm) => {
  const data = new Float32Array(bytes / 4);
  const options = algorithm === 'auto' ? undefined : { algorithm };
  for (let i = 0; i < calls; i++) await on.allReduce(data, data, data.length, 'float32', 'sum', options);
};
await run(main, mainBytes, 3); // the main size's buffers and pools, as webccl-perf's -w
await run(pre, preBytes, preCalls);
if (process.env['FRESH'] === '1') {
  await comm.destroy();
  comm = await Communicator.fromEnv();
  await run(main, mainBytes, 3);
}
const timedOn = process.env['SPLIT'] === '1' ? (await comm.split(0))! : comm;
if (timedOn !== comm) await run(main, mainBytes, 3, timedOn);
const session = profileDir === undefined ? undefined : new Session();
if (session) {
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
}
const times: number[] = [];
const cpuBefore = process.cpuUsage();
for (let b = 0; b < blocks; b++) {
  await timedOn.barrier();
  const started = performance.now();
  await run(main, mainBytes, block, timedOn);
  times.push(((performance.now() - started) * 1000) / block);
}
const cpu = process.cpuUsage(cpuBefore);
if (session) {
  await new Promise<void>((done) => session.post('Profiler.stop', (error, result) => {
    if (error) throw error;
    writeFileSync(join(profileDir!, `main${comm.rank}.cpuprofile`), JSON.stringify(result.profile));
    done();
  }));
}
// SERIES=1: how the time per call moves over the run (the median of every 20 blocks, in order).
if (comm.rank === 0 && process.env['SERIES'] === '1') {
  const groups = Array.from({ length: Math.ceil(times.length / 20) }, (_, g) => times.slice(g * 20, g * 20 + 20).sort((a, b) => a - b));
  console.log(`median of every 20 blocks, in order: ${groups.map((g) => g[g.length >> 1]!.toFixed(0)).join(' ')} µs`);
}
const cpuPerCall = (cpu.user + cpu.system) / (blocks * block);
times.sort((a, b) => a - b);
if (comm.rank === 0) console.log(`${pre} ${preBytes} B x ${preCalls}, then ${main} ${mainBytes} B: median ${times[times.length >> 1]!.toFixed(0)} µs a call (lower quartile ${times[times.length >> 2]!.toFixed(0)}, ${blocks} blocks of ${block}); rank 0's CPU ${cpuPerCall.toFixed(0)} µs a call`);
if (timedOn !== comm) await timedOn.destroy();
await comm.destroy();
