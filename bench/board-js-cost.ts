// The JavaScript a small board allreduce costs on one rank, with nothing else in it: rank 0 of a
// two-rank inproc world given a board whose native run returns at once (done here), so that a
// call is Communicator.allReduce, the plan memo and the short path (Communicator.runSmall,
// NativeBoardSession.runNow; the queue, execute and the board algorithm where a call takes the
// long path), without the shared segment or a peer to wait for. Per call µs, the 10th
// and 50th percentiles of each of 9 rounds (their smallest and median): a loaded host inflates
// the means, the low percentiles far less. Rank 1 never calls (the fake board needs no peer).
//   CALLS=20000 node --import ./test/register.mjs bench/board-js-cost.ts
import { Communicator } from '../lib/index.node.js';
import type { NativeAddon } from '../lib/native/addon.js';
import { NativeBoardSession } from '../lib/native/board.js';
import type { BoardHost } from '../lib/transport/board.js';
import { connectInproc } from '../lib/transport/inproc.js';

let runs = 0;
const instant = { Board: class { run(): boolean { runs++; return true; } close(): void {} } } as unknown as NativeAddon;
const board: BoardHost = { open: (_key, rank, size, timeoutMs) => new NativeBoardSession(instant, '/unused', rank, size, 1 << 20, timeoutMs) };
const transports = [0, 1].map((rank) => Object.assign(connectInproc(`board-js-cost-${process.pid}`, rank, 2), { board }));
const comms = await Promise.all(transports.map((transport, rank) => Communicator.init({ transport, rank, size: 2, algorithm: 'board' })));
const comm = comms[0]!;
const send = new Float32Array(2).fill(1);
const recv = new Float32Array(2);
const calls = Number(process.env['CALLS'] ?? 20000);
const p10: number[] = [];
const p50: number[] = [];
for (let round = 0; round < 9; round++) {
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const started = process.hrtime.bigint();
    await comm.allReduce(send, recv, 2, 'float32', 'sum');
    times[i] = Number(process.hrtime.bigint() - started) / 1000;
  }
  times.sort();
  p10.push(times[Math.floor(calls * 0.1)]!);
  p50.push(times[Math.floor(calls * 0.5)]!);
}
if (runs !== 9 * calls) throw new Error(`the board ran ${runs} of ${9 * calls} calls: another algorithm took the rest`);
const low = (xs: number[]) => [...xs].sort((a, b) => a - b);
console.log(`8 B board allreduce, JavaScript per call: p10 ${low(p10)[0]!.toFixed(2)} (median of rounds ${low(p10)[4]!.toFixed(2)}), `
  + `p50 ${low(p50)[0]!.toFixed(2)} (${low(p50)[4]!.toFixed(2)}) us`);
process.exit(0);
