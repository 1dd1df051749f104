// Raw allreduce times per (transport, ranks, algorithm, size) with each run's traffic terms, as
// JSON lines, for fitting cost-model structures offline (exploration for issue 15).
//   node --import ./test/register.mjs bench/tune-probe.ts inproc,shm 2 -b 8 -e 16M -f 2 -r 9 > out.jsonl
import { Communicator, getUniqueId } from '../lib/index.node.js';
import { directReachBytes } from '../lib/collectives/direct-allreduce.js';
import { callTraffic } from '../lib/tune/model.js';
import { parseBytes } from './perf/sizes.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => { const at = args.indexOf(name); return at >= 0 ? args[at + 1]! : fallback; };
const positional = args.filter((a, i) => !a.startsWith('-') && !args[i - 1]?.startsWith('-'));
const transports = (positional[0] ?? 'inproc').split(',');
const rankCounts = (positional[1] ?? '2').split(',').map(Number);
const minBytes = parseBytes(flag('-b', '8'));
const maxBytes = parseBytes(flag('-e', '16M'));
const rounds = Number(flag('-r', '9'));
const factor = Number(flag('-f', '2'));
for (const transport of transports) {
  for (const np of rankCounts) {
    const id = await getUniqueId({ transport });
    const comms = await Promise.all(Array.from({ length: np }, (_, rank) => Communicator.init({ id, rank, size: np })));
    const { chunkBytes, pipelineDepth } = comms[0]!.config;
    for (let bytes = minBytes; bytes <= maxBytes; bytes *= factor) {
      const count = bytes / 4;
      const buffers = comms.map(() => new Float32Array(count).fill(1));
      const algos = ['ring', 'tree', ...(bytes <= directReachBytes(chunkBytes, np) ? ['direct'] : [])];
      const times = new Map(algos.map((a) => [a, [] as number[]]));
      for (let round = -1; round < rounds; round++) {
        for (const algorithm of algos.map((_, i) => algos[(i + round + 1) % algos.length]!)) {
          const t0 = performance.now();
          await Promise.all(comms.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, count, 'float32', 'sum', { algorithm })));
          if (round >= 0) times.get(algorithm)!.push((performance.now() - t0) / 1000);
        }
      }
      for (const [algorithm, t] of times) {
        const traffic = callTraffic(algorithm, { collective: 'allReduce', bytes, ranks: np, chunkBytes, pipelineDepth });
        console.log(JSON.stringify({ transport, np, chunkBytes, pipelineDepth, algorithm, bytes, traffic, times: t }));
      }
    }
    await Promise.all(comms.map((c) => c.destroy()));
  }
}
