// The ring allreduce's cost per link byte at one call size over several chunk sizes (one world
// per chunk size, the calls alternated round by round), in one process. Past 16 MiB the model
// prices a call with the β its calibration measured at 16 MiB, but the ring's messages grow
// with the call there (shm's 8 MiB chunk: 2 MiB messages at 16 MiB and 4 ranks, 8 MiB from
// 128 MiB): where a message has a fixed cost that the few-byte fit of o does not see (shm sends
// messages past 512 KiB by reference, acked by the receiver), fewer, larger messages cost less
// per byte, and the larger calls come out over their prediction (docs/PERFORMANCE.md, big19).
// Holding the call size and changing only the chunk gives that cost per message sent:
//   node --import ./test/register.mjs bench/tune-ring-chunks.ts [transport=shm] [ranks=4] [-s 64M] [-c 1M,2M,4M,8M] [-r 5]
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { ringAllReduceTraffic } from '../lib/collectives/ring-allreduce.js';
import { parseBytes } from './perf/sizes.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => { const at = args.indexOf(name); return at >= 0 ? args[at + 1]! : fallback; };
const positional = args.filter((a, i) => !a.startsWith('-') && !args[i - 1]?.startsWith('-'));
const transport = positional[0] ?? 'shm';
const ranks = Number(positional[1] ?? 4);
const bytes = parseBytes(flag('-s', '64M'));
const chunks = flag('-c', '1M,2M,4M,8M').split(',').map(parseBytes);
const rounds = Number(flag('-r', '5'));
if (!Number.isInteger(ranks) || ranks < 2) throw new Error(`ranks ${positional[1]} is not a count of 2 or more`);
if (bytes % (4 * ranks) !== 0) throw new Error(`-s ${flag('-s', '')} is not a whole number of float32 values per rank`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`-r ${flag('-r', '')} is not a count of rounds`);

async function world(chunkBytes: number): Promise<Communicator[]> {
  const id = await getUniqueId({ transport });
  return Promise.all(Array.from({ length: ranks }, (_, rank) => Communicator.init({ id, rank, size: ranks, chunkBytes })));
}

const worlds = await Promise.all(chunks.map(world));
const buffers = Array.from({ length: ranks }, () => new Float32Array(bytes / 4).fill(1));
const times = chunks.map(() => [] as number[]);
// Round -1 is untimed (a size's first use: buffers, pools, a fresh world's transport).
for (let round = -1; round < rounds; round++) {
  for (const [i, comms] of worlds.entries()) {
    const started = performance.now();
    await Promise.all(comms.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, bytes / 4, 'float32', 'sum', { algorithm: 'ring' })));
    if (round >= 0) times[i]!.push(performance.now() - started);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rows = worlds.map((comms, i) => {
  const traffic = ringAllReduceTraffic({ bytes, ranks, chunkBytes: comms[0]!.config.chunkBytes, pipelineDepth: comms[0]!.config.pipelineDepth });
  return { chunk: chunks[i]!, ms: median(times[i]!), sends: traffic.sends, linkBytes: traffic.linkBytes };
});
console.log(`# ${transport}, ${ranks} ranks, ring allreduce of ${bytes} B, median of ${rounds} rounds`);
for (const row of rows) {
  console.log(`chunk ${String(row.chunk).padStart(9)} B: ${row.ms.toFixed(1).padStart(8)} ms, ${((row.ms * 1e6) / row.linkBytes).toFixed(3)} ns per link byte, ${row.sends} sends by the busiest rank`);
}
// Time against sends between the most and the fewest messages: the cost of one message beyond its bytes.
const [many, few] = [rows.reduce((a, b) => (b.sends > a.sends ? b : a)), rows.reduce((a, b) => (b.sends < a.sends ? b : a))];
if (many.sends > few.sends) console.log(`# ${(((many.ms - few.ms) * 1000) / (many.sends - few.sends)).toFixed(0)} µs per message sent (${many.sends} against ${few.sends} sends)`);
await Promise.all(worlds.flat().map((comm) => comm.destroy()));
