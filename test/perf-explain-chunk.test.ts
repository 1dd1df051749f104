// webccl-perf --explain prices with the chunk size and pipeline depth the ranks would agree: the
// transport's own chunk (ntcp's grows with the ranks, shm's is 8 MiB) unless WEBCCL_CHUNK_BYTES
// sets one. Priced at the default 1 MiB whatever the transport, 8 ntcp ranks' tree past 16 MiB
// came out pipelined in 1 MiB pieces where the ranks cut its halves at their 32 MiB chunk (8 MiB
// pieces at most since piece27), and --explain named the tree where their auto ran the ring.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the shm and ntcp worlds (their chunk sizes, addon or not)
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { explainLines } from '../bench/perf/explain.js';
import { DEFAULT_CHUNK_BYTES } from '../lib/comm/config.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { chooseAlgorithm, DEFAULT_DIRECT_THRESHOLD_BYTES, DEFAULT_TREE_THRESHOLD_BYTES } from '../lib/tune/select.js';
import { ntcpChunkBytes, SHM_CHUNK_BYTES } from '../lib/transport/shm/shm-mesh.js';

const MiB = 1 << 20;
// Curves to a 16 MiB call at 8 ranks, as an ntcp calibration's (cal27): the ring's point at 2 ns/B,
// the tree's at 1.5. At a 32 MiB chunk the tree's halves go in 8 MiB pieces at most
// (STORED_PIECE_BYTES), one or a few, and the ring is cheaper; at 1 MiB they pipeline and the tree is.
const params: CostParams = {
  ...DEFAULT_COST_PARAMS, call: 0, alpha: 0, overhead: 0, gamma: 0,
  betaCurves: { ring: [{ linkBytes: 28 * MiB, beta: 2e-9 }], tree: [{ linkBytes: 48 * MiB, beta: 1.5e-9 }] },
};

function explained(transport: string, ranks: number): { chunk: string; choices: Map<number, string> } {
  const options = parsePerfArgs(['allreduce', '--explain', '--np', String(ranks), '--transport', transport, '-b', '16M', '-e', '64M', '-f', '2']) as PerfOptions;
  const lines = explainLines(options, { params, what: 'the test' });
  const chunk = /chunk (\S+ \S+), pipeline depth/.exec(lines[0]!)?.[1] ?? lines[0]!;
  const choices = new Map(lines.filter((l) => !l.startsWith('#')).map((line) => {
    const [bytes, choice] = line.trim().split(/\s+/);
    return [Number(bytes), choice!] as const;
  }));
  return { chunk, choices };
}

const choiceAt = (bytes: number, chunkBytes: number) => chooseAlgorithm('allReduce', bytes, 8, {
  algorithm: 'auto', treeThresholdBytes: DEFAULT_TREE_THRESHOLD_BYTES, directThresholdBytes: DEFAULT_DIRECT_THRESHOLD_BYTES, chunkBytes, tuning: { params, digest: 'test' },
}).algorithm;

test("the header names the transport's chunk: ntcp's at 8 ranks (32 MiB) and 2 (4 MiB), shm's 8 MiB, tcp's none (the default 1 MiB)", () => {
  assert.is(explained('ntcp', 8).chunk, '32 MiB');
  assert.is(explained('ntcp', 2).chunk, '4 MiB');
  assert.is(explained('shm', 8).chunk, '8 MiB');
  assert.is(explained('tcp', 8).chunk, '1 MiB');
  assert.is(ntcpChunkBytes(8), 32 * MiB);
  assert.is(SHM_CHUNK_BYTES, 8 * MiB);
  assert.is(DEFAULT_CHUNK_BYTES, MiB);
});

test('WEBCCL_CHUNK_BYTES, which the ranks would agree, wins over the transport\'s chunk', () => {
  process.env['WEBCCL_CHUNK_BYTES'] = String(2 * MiB);
  try {
    assert.is(explained('ntcp', 8).chunk, '2 MiB');
  } finally {
    delete process.env['WEBCCL_CHUNK_BYTES'];
  }
});

test("8 ntcp ranks: each choice is auto's at ntcp's 32 MiB chunk (the ring at 16-64 MiB), not at 1 MiB (the tree)", () => {
  const { choices } = explained('ntcp', 8);
  for (const bytes of [16 * MiB, 32 * MiB, 64 * MiB]) {
    assert.is(choices.get(bytes), choiceAt(bytes, ntcpChunkBytes(8)), `${bytes >> 20} MiB`);
    assert.is(choices.get(bytes), 'ring', `${bytes >> 20} MiB`);
    assert.is(choiceAt(bytes, MiB), 'tree', `${bytes >> 20} MiB at a 1 MiB chunk (what the test tells apart)`);
  }
});

test.run();
