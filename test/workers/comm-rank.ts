// One rank of a communicator in its own process, for the multi-process tests. Joins through
// Communicator.fromEnv (WEBCCL_ID, RANK, WORLD_SIZE) and reports JSON lines on stdout.
//   allreduce  ring and tree allReduce of a known input; report the checked result; exit 0
//   victim     allReduce in a loop until it fails (the parent kills or stops one rank); report
//              how, destroy, and report the descriptors and threads left
//   switch     one long int32 allReduce through the switch (WEBCCL_ALGO=switch; the parent kills it mid-call)
import { readdirSync } from 'node:fs';
import { Communicator, WebcclError } from '../../lib/index.node.js';

const mode = process.argv[2];
const started = Date.now();
/** Open file descriptors and threads of this process (what a destroyed communicator must give back). */
const resources = () => ({ fds: readdirSync('/proc/self/fd').length, threads: readdirSync('/proc/self/task').length });
const before = resources();
const comm = await Communicator.fromEnv();
const report = (event: Record<string, unknown>) => console.log(JSON.stringify({ rank: comm.rank, ...event }));
// Never outlive a test that forgot us.
setTimeout(() => { report({ event: 'expired' }); process.exit(3); }, 60_000).unref();
report({ event: 'ready', description: comm.transport.description, initMs: Date.now() - started, before, ...resources() });

if (mode === 'allreduce') {
  for (const [algorithm, count] of [['ring', 2 ** 18 + 3], ['tree', 1001]] as const) {
    const data = Float32Array.from({ length: count }, (_, i) => comm.rank + 1 + (i % 7));
    await comm.allReduce(data, data, count, 'float32', 'sum', { algorithm });
    const ranks = comm.size;
    const wrong = data.findIndex((value, i) => value !== (ranks * (ranks + 1)) / 2 + ranks * (i % 7));
    report({ event: 'reduced', algorithm, count, wrong });
  }
  await comm.destroy();
  process.exit(0);
}

if (mode === 'victim') {
  // VICTIM_FLOATS: a larger allReduce, so that a kill lands while large segments move; VICTIM_ALGO: another algorithm than the ring;
  // VICTIM_COLLECTIVE: another collective than allReduce (reduceScatter and allGather take the algorithm from WEBCCL_ALGO).
  const data = new Float32Array(Number(process.env['VICTIM_FLOATS'] ?? 2 ** 20));
  const options = { algorithm: process.env['VICTIM_ALGO'] ?? 'ring' };
  const block = Math.floor(data.length / comm.size);
  const gathered = new Float32Array(block * comm.size);
  const calls: Record<string, () => Promise<void>> = {
    allReduce: () => comm.allReduce(data, data, data.length, 'float32', 'sum', options),
    reduce: () => comm.reduce(data, data, data.length, 'float32', 'sum', 0, options),
    broadcast: () => comm.broadcast(data, data, data.length, 'float32', 0, options),
    reduceScatter: () => comm.reduceScatter(gathered, data.subarray(0, block), block, 'float32', 'sum'),
    allGather: () => comm.allGather(data.subarray(0, block), gathered, block, 'float32'),
  };
  const call = calls[process.env['VICTIM_COLLECTIVE'] ?? 'allReduce']!;
  for (let round = 0; ; round++) {
    try {
      await call();
      report({ event: 'round', round });
    } catch (error) {
      const failure = error as WebcclError;
      report({ event: 'rejected', code: failure.code, message: failure.message, at: Date.now() });
      break;
    }
  }
  await comm.destroy();
  // Closed sockets give their descriptors back on the next turns of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 200));
  report({ event: 'destroyed', ...resources() });
  process.exit(0);
}

if (mode === 'switch') {
  const count = 1 << 22;
  report({ event: 'calling' });
  await comm.allReduce(new Int32Array(count).fill(comm.rank), new Int32Array(count), count, 'int32', 'sum', { algorithm: 'switch' });
  report({ event: 'reduced' });
  await comm.destroy();
  process.exit(0);
}
