// The switch's correctness sweep: float32 sums through a switch, for 1 to 32 workers and sizes up
// to 256 MiB, checked element by element on every rank against the exact (float64) sum within the
// codec's stated bound (lib/cpu/switchml-bound.ts), every rank's bits against rank 0's, and int32
// sums exact. Ranks are communicators in this process over inproc (algorithm 'switch', the
// packet size 'auto' agrees: 4096 values on loopback), the switch a SwitchServer in the same
// process (its native data plane when the addon is built). Sizes that would need more than
// --budget bytes of arrays (inputs, results and the oracle's, over all ranks) are skipped and said.
// Prints one line per (workers, size): the worst error as a fraction of its bound, and the time.
// Usage: node --import ./test/register.mjs bench/switch-bound.ts [--workers 1,2,4,8,16,32]
//   [--sizes 0,4,4100,1M,16M,256M] [--budget 6G]
import { parseArgs } from 'node:util';
import '../lib/index.node.js'; // registers the switch aggregator and its UDP link
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import { switchmlSumViolation } from '../lib/cpu/switchml-bound.js';
import { SwitchServer } from '../lib/switch/switch-server.js';

const { values: args } = parseArgs({
  options: { workers: { type: 'string', default: '1,2,4,8,16,32' }, sizes: { type: 'string', default: '0,4,4100,1M,16M,256M' }, budget: { type: 'string', default: '6G' } },
});

function bytesOf(text: string): number {
  const match = /^(\d+)([KMG]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text}`);
  return Number(match[1]) * { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[match[2] as '' | 'K' | 'M' | 'G'];
}

const workerCounts = args.workers.split(',').map(Number);
const sizes = args.sizes.split(',').map(bytesOf);
const budget = bytesOf(args.budget);

/** Deterministic inputs over a wide range of magnitudes, a different mix per rank and per 2 KiB. */
function floats(count: number, rank: number): Float32Array {
  let state = (rank + 1) * 2654435761 >>> 0;
  const x = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    const magnitude = 2 ** (((i >> 9) * 7 + rank * 3) % 40 - 20);
    x[i] = ((state & 1) ? -1 : 1) * (state / 2 ** 32) * magnitude;
  }
  return x;
}

function ints(count: number, rank: number): Int32Array {
  const x = new Int32Array(count);
  for (let i = 0; i < count; i++) x[i] = Math.imul(i + 1, 2654435761 + rank) ^ rank;
  return x;
}

const server = await SwitchServer.start({ port: 0 });
console.log(`# switch ${server.address}, ${server.dataPlane} data plane; bound: n·2^emax/(2M) + 3.0000002·2^-24·n·2^emax per element`);
console.log('# workers      bytes  float32 worst error/bound  ranks identical  int32 exact  seconds');
let failures = 0;
try {
  for (const n of workerCounts) {
    const id = await getUniqueId({ transport: 'inproc' });
    const comms = await Promise.all(Array.from({ length: n }, (_, rank) => Communicator.init({
      id, rank, size: n, algorithm: 'switch', switch: server.address, switchSecret: server.secret, timeoutMs: 600_000,
    })));
    try {
      for (const bytes of sizes) {
        const count = Math.floor(bytes / 4);
        if (3 * n * bytes > budget) {
          console.log(`${String(n).padStart(9)} ${String(bytes).padStart(10)}  skipped: ${3 * n * bytes} bytes of arrays > --budget ${budget}`);
          continue;
        }
        const started = performance.now();
        const inputs = comms.map((_, r) => floats(count, r));
        const outs = inputs.map(() => new Float32Array(count));
        await Promise.all(comms.map((comm, r) => comm.allReduce(inputs[r]!, outs[r]!, count, 'float32', 'sum')));
        const worst = { ratio: 0 };
        const violation = switchmlSumViolation(inputs, outs[0]!, (comms[0]!.config.switchPacketValues as number) / 2, 1, worst);
        const identical = outs.every((out) => Buffer.compare(Buffer.from(out.buffer), Buffer.from(outs[0]!.buffer)) === 0);
        const intInputs = comms.map((_, r) => ints(count, r));
        const intOuts = intInputs.map(() => new Int32Array(count));
        await Promise.all(comms.map((comm, r) => comm.allReduce(intInputs[r]!, intOuts[r]!, count, 'int32', 'sum')));
        let exact = true;
        for (let i = 0; i < count && exact; i++) {
          let sum = 0;
          for (const input of intInputs) sum = (sum + input[i]!) | 0;
          exact = intOuts.every((out) => out[i] === sum);
        }
        const ok = violation === undefined && identical && exact;
        if (!ok) failures++;
        const seconds = (performance.now() - started) / 1000;
        console.log(`${String(n).padStart(9)} ${String(bytes).padStart(10)}  ${(violation ?? worst.ratio.toFixed(3)).padStart(25)}  ${String(identical).padStart(15)}  ${String(exact).padStart(11)}  ${seconds.toFixed(1).padStart(7)}`);
      }
    } finally {
      await Promise.all(comms.map((comm) => comm.destroy()));
    }
  }
} finally {
  server.close();
}
console.log(failures === 0 ? '# every result within its bound, identical on every rank, int32 exact' : `# ${failures} (workers, size) points FAILED`);
process.exitCode = failures === 0 ? 0 : 1;
