// Per-call time of an 8-byte allreduce between two ranks, with the transport's message count per
// call, for locating the per-call cost above the transport (compare with bench/native-pingpong.ts
// and bench/mesh-throughput.ts). Also the process's CPU time per call, which a loaded machine
// inflates far less than the wall time. WEBCCL_TRANSPORT=inproc runs both ranks in this process
// (its CPU time is then both ranks'); WEBCCL_ALGO picks the algorithm (default auto: the board on shm, direct elsewhere).
//   WEBCCL_TRANSPORT=shm node --import ./test/register.mjs bench/allreduce-latency.ts   (CALLS=2000 WARMUP=200)
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { ShmEndpoint } from '../lib/native/shm.js';
import { runAsTwoRanks } from './two-ranks.js';

/** Native posts per call (shm and ntcp providers): how many messages the transport makes of one send. */
/** sendNow counts the sends that went straight into the ring; recvThen is a receive posted without a promise. */
const posts = { send: 0, sendNow: 0, write: 0, recv: 0 };
for (const name of ['send', 'sendNow', 'write', 'recv', 'recvThen'] as const) {
  const original = ShmEndpoint.prototype[name] as (...args: unknown[]) => unknown;
  const counted = name === 'recvThen' ? 'recv' : name;
  (ShmEndpoint.prototype as any)[name] = function (this: ShmEndpoint, ...args: unknown[]) {
    const result = original.apply(this, args);
    if (name !== 'sendNow' || result === true) posts[counted]++;
    return result;
  };
}

async function rank(comm: Communicator): Promise<void> {
  const calls = Number(process.env['CALLS'] ?? 2000);
  const send = new Float32Array(2).fill(comm.rank + 1);
  const recv = new Float32Array(2);
  const t = comm.transport;
  let sends = 0;
  const original = t.send.bind(t);
  t.send = (...args: Parameters<typeof t.send>) => { sends++; return original(...args); };
  for (let i = 0; i < Number(process.env['WARMUP'] ?? 200); i++) await comm.allReduce(send, recv, 2, 'float32', 'sum');
  await comm.barrier();
  sends = 0;
  posts.send = posts.sendNow = posts.write = posts.recv = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) await comm.allReduce(send, recv, 2, 'float32', 'sum');
  const us = ((performance.now() - started) * 1000) / calls;
  const { user, system } = process.cpuUsage(cpu);
  console.log(`rank ${comm.rank} ${t.description}: 8 B allreduce ${us.toFixed(1)} us per call (process CPU ${((user + system) / calls).toFixed(1)} us), `
    + `${(sends / calls).toFixed(2)} transport sends per call, native posts per call: ${Object.entries(posts).map(([k, v]) => `${k} ${(v / calls).toFixed(2)}`).join(', ')}`);
  await comm.destroy();
}

if (process.env['WEBCCL_TRANSPORT'] === 'inproc') {
  const id = await getUniqueId({ transport: 'inproc' });
  const comms = await Promise.all([0, 1].map((r) => Communicator.init({ id, rank: r, size: 2 })));
  await Promise.all(comms.map(rank));
} else {
  await runAsTwoRanks(async () => rank(await Communicator.fromEnv()));
}
