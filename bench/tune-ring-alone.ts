// Is the tcp ring cheaper per byte in a world that runs it alone (as the sweep's ring column and
// a training loop do) than in one that alternates it with the tree (as calibration's large runs
// do)? Three in-process worlds of 4 tcp ranks: A runs only the ring, B the ring and the tree in
// turn, C only the tree; each warmed by two 16 MiB calls of its schedules, then every size's
// four entries timed one call each, round by round, each round starting with the next entry.
// Prints each entry's median ms, ns per link byte (ring 1.5·S, tree 2·S) and every round.
//   node --import ./test/register.mjs bench/tune-ring-alone.ts [rounds=3] [MiB list=64,128,256]
// docs/PERFORMANCE.md, reach23.
import { Communicator, getUniqueId } from '../lib/index.node.js';
const np = 4;
async function world(): Promise<Communicator[]> {
  const id = await getUniqueId({ transport: 'tcp' });
  return Promise.all(Array.from({ length: np }, (_, rank) => Communicator.init({ id, rank, size: np })));
}
const A = await world(); const B = await world(); const C = await world();
const call = (comms: Communicator[], bufs: Float32Array[], algorithm: string) => Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, bufs[r]!.length, 'float32', 'sum', { algorithm })));
for (const [comms, algs] of [[A, ['ring']], [B, ['ring', 'tree']], [C, ['tree']]] as const) {
  for (const alg of algs) { const b = comms.map(() => new Float32Array((16 << 20) / 4).fill(1)); for (let i = 0; i < 2; i++) await call(comms, b, alg); }
}
const runs: [string, Communicator[], string][] = [['A ring alone', A, 'ring'], ['B ring (alt)', B, 'ring'], ['B tree (alt)', B, 'tree'], ['C tree alone', C, 'tree']];
const rounds = Number(process.argv[2] ?? 3);
for (const mib of (process.argv[3] ?? '64,128,256').split(',').map(Number)) {
  const bytes = mib << 20;
  const bufs = Array.from({ length: np }, () => new Float32Array(bytes / 4).fill(1));
  const times = new Map(runs.map(([n]) => [n, [] as number[]]));
  for (let round = -1; round < rounds; round++) {
    for (let k = 0; k < runs.length; k++) {
      const [name, comms, alg] = runs[(k + round + 1) % runs.length]!;
      const t0 = performance.now(); await call(comms, bufs, alg);
      if (round >= 0) times.get(name)!.push(performance.now() - t0);
    }
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(`${mib} MiB ` + [...times].map(([n, t]) => `${n}: ${med(t).toFixed(0)} ms (${(med(t) * 1e6 / ((n.includes('ring') ? 1.5 : 2) * bytes)).toFixed(2)} ns/B; ${t.map((x) => x.toFixed(0)).join(' ')})`).join(' | '));
}
await Promise.all([...A, ...B, ...C].map((c) => c.destroy()));
