// One switch against a two-level tree (a root and 2 leaves, `webccl switch --parent`), each
// switch in its own process, 8 workers in this process: int32 and float32 allreduce of the same
// data, alternating flat and tree rounds in one run, so the cost of the second level shows as a
// ratio on a shared machine. Checks that both give the same bits.
// Usage: node --import ./test/register.mjs bench/switch-tree.ts [elements] [rounds]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SwitchWorker } from '../lib/switch/worker.js';

const elements = Number(process.argv[2] ?? 1 << 18);
const rounds = Number(process.argv[3] ?? 3);
const LEAVES = 2;
const PER_LEAF = 4;
const N = LEAVES * PER_LEAF;
const SECRET = 'c'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'switch-tree-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, SECRET, { mode: 0o600 });
const children: ChildProcess[] = [];

async function startSwitch(...extra: string[]): Promise<{ address: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'bin/webccl.ts', 'switch', '--host', '127.0.0.1', '--port', '0', '--secret-file', secretFile, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const address = await new Promise<string>((resolve) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => { text += chunk; const m = /switch (\S+)/.exec(text); if (m) resolve(m[1]!); });
  });
  return { address, child };
}

let worlds = 0;
async function flatWorkers(address: string): Promise<SwitchWorker[]> {
  const world = `flat-${worlds++}`;
  return Promise.all(Array.from({ length: N }, (_, rank) => SwitchWorker.connect({ switch: address, secret: SECRET, world, rank, size: N, timeoutMs: 60_000 })));
}

async function treeWorkers(leaves: string[]): Promise<SwitchWorker[]> {
  const world = `tree-${worlds++}`;
  return Promise.all(Array.from({ length: N }, (_, g) => SwitchWorker.connect({
    switch: leaves[Math.floor(g / PER_LEAF)]!, secret: SECRET, world, rank: g % PER_LEAF, size: PER_LEAF, total: N,
    uplink: { rank: Math.floor(g / PER_LEAF), size: LEAVES }, timeoutMs: 60_000,
  })));
}

async function timed<T extends Int32Array | Float32Array>(workers: SwitchWorker[], inputs: T[]): Promise<{ seconds: number; out: T }> {
  const started = performance.now();
  const out = await Promise.all(workers.map((w, r) => w.allReduce(inputs[r]!)));
  return { seconds: (performance.now() - started) / 1000, out: out[0]! };
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const x = new Uint32Array((a as Int32Array).buffer);
  const y = new Uint32Array((b as Int32Array).buffer);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

try {
  const single = await startSwitch();
  const root = await startSwitch();
  const leaves = await Promise.all(Array.from({ length: LEAVES }, () => startSwitch('--parent', root.address)));
  const ints = Array.from({ length: N }, (_, r) => Int32Array.from({ length: elements }, (_, i) => (i * 2654435761 + r) | 0));
  const floats = Array.from({ length: N }, (_, r) => Float32Array.from({ length: elements }, (_, i) => Math.sin(i + r) * 2 ** ((i % 20) - 10)));
  const flat = await flatWorkers(single.address);
  const tree = await treeWorkers(leaves.map((leaf) => leaf.address));
  console.log(`# ${elements} elements, ${N} workers: one switch vs ${LEAVES} leaves x ${PER_LEAF} under a root (each switch its own process)`);
  console.log('# round  dtype    one switch (s)  tree (s)  tree/one  same bits');
  for (let round = 0; round < rounds; round++) {
    for (const [dtype, inputs] of [['int32', ints], ['float32', floats]] as const) {
      const a = await timed(flat, inputs as Array<Int32Array | Float32Array>);
      const b = await timed(tree, inputs as Array<Int32Array | Float32Array>);
      console.log(`${String(round).padStart(7)}  ${dtype.padEnd(7)} ${a.seconds.toFixed(3).padStart(15)} ${b.seconds.toFixed(3).padStart(9)} ${(b.seconds / a.seconds).toFixed(2).padStart(9)}  ${same(a.out, b.out)}`);
    }
  }
  const retransmitted = (workers: SwitchWorker[]) => workers.reduce((sum, w) => sum + w.counters.retransmitted, 0);
  const sent = (workers: SwitchWorker[]) => workers.reduce((sum, w) => sum + w.counters.sent, 0);
  console.log(`# worker retransmissions: one switch ${retransmitted(flat)} of ${sent(flat)} packets, tree ${retransmitted(tree)} of ${sent(tree)}`);
  for (const w of [...flat, ...tree]) w.close();
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
