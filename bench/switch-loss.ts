// The time cost of packet loss on switch allreduce: float32 sums through three `webccl switch`
// processes started side by side, one loss-free, two with `--drop P` (each direction of the
// switch drops P of its datagrams), the last with the workers' own fault hook dropping P of
// their sends and receives too, so a packet's round trip crosses four lossy hops. Rounds
// alternate between the three so that load from elsewhere falls on each alike; every lossy
// result must be bit-identical to the loss-free one. Prints the median time per call and its
// ratio to the loss-free median.
// Usage: node --import ./test/register.mjs bench/switch-loss.ts [elements] [workers] [drop] [rounds]
import { spawn, type ChildProcess } from 'node:child_process';
import '../lib/switch/udp-link.js'; // workers reach the switch by UDP
import { SwitchWorker } from '../lib/switch/worker.js';
import type { FaultOptions } from '../lib/switch/faults.js';

const elements = Number(process.argv[2] ?? 1 << 18);
const workers = Number(process.argv[3] ?? 4);
const drop = Number(process.argv[4] ?? 0.01);
const rounds = Number(process.argv[5] ?? 5);
const SECRET = 'b'.repeat(32);

function startSwitch(args: string[]): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'bin/webccl.ts', 'switch', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WEBCCL_SECRET: SECRET },
  });
  return new Promise((resolve) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk;
      const match = /switch (\S+)/.exec(text);
      if (match) resolve({ child, address: match[1]! });
    });
  });
}

interface Setup { readonly label: string; readonly address: string; readonly faults?: FaultOptions; readonly times: number[]; retransmitted: number }

const inputs = Array.from({ length: workers }, (_, r) => Float32Array.from({ length: elements }, (_, i) => Math.sin(i * 0.001 + r) * (r + 1)));

/** One call on a fresh job of `workers` workers; its seconds and result. */
async function call(setup: Setup, round: number): Promise<Float32Array> {
  const world = `loss-${setup.label}-${round}`;
  const all = await Promise.all(inputs.map((_, rank) => SwitchWorker.connect({
    switch: setup.address, secret: SECRET, world, rank, size: workers, timeoutMs: 60_000,
    ...(setup.faults && { faults: { ...setup.faults, seed: 1000 * round + rank + 1 } }),
  })));
  try {
    const started = performance.now();
    const results = await Promise.all(all.map((w, r) => w.allReduce(inputs[r]!)));
    setup.times.push((performance.now() - started) / 1000);
    setup.retransmitted += all.reduce((sum, w) => sum + w.counters.retransmitted, 0);
    return results[0]!;
  } finally {
    for (const w of all) w.close();
  }
}

const switches = await Promise.all([startSwitch([]), startSwitch(['--drop', String(drop)]), startSwitch(['--drop', String(drop)])]);
const setups: Setup[] = [
  { label: 'loss-free', address: switches[0]!.address, times: [], retransmitted: 0 },
  { label: `switch --drop ${drop}`, address: switches[1]!.address, times: [], retransmitted: 0 },
  { label: `switch --drop ${drop} + workers drop ${drop}`, address: switches[2]!.address, faults: { drop }, times: [], retransmitted: 0 },
];
const os = await import('node:os');
console.log(`# ${elements} float32 elements per call, ${workers} workers (this process), ${rounds} rounds alternating; ${process.platform} ${os.cpus().length} cores`);
await call(setups[0]!, -1); // warm-up
setups[0]!.times.length = 0;
setups[0]!.retransmitted = 0;
for (let round = 0; round < rounds; round++) {
  const exact = await call(setups[0]!, round);
  for (const setup of setups.slice(1)) {
    const got = await call(setup, round);
    const bits = new Int32Array(got.buffer);
    const want = new Int32Array(exact.buffer);
    if (bits.some((b, i) => b !== want[i])) throw new Error(`${setup.label}: the result differs from the loss-free run's in round ${round}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(setups[0]!.times);
for (const setup of setups) {
  const m = median(setup.times);
  console.log(`${setup.label.padEnd(42)} median ${(m * 1000).toFixed(0).padStart(6)} ms/call (min ${(Math.min(...setup.times) * 1000).toFixed(0)}, max ${(Math.max(...setup.times) * 1000).toFixed(0)}), ` +
    `${(m / base).toFixed(2)}x loss-free, ${(setup.retransmitted / setup.times.length).toFixed(0)} retransmissions/call`);
}
console.log('# every lossy result was bit-identical to the loss-free one');
for (const { child } of switches) child.kill('SIGINT');
