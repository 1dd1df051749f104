// webccl-perf --explain prices the mesh up to the threshold the ranks would agree: ntcp's
// proposal for ranks on one host (as webccl-perf --np launches them), or WEBCCL_MESH_THRESHOLD_BYTES.
// Priced at 0 before, the mesh was never explained on ntcp, where the ranks' auto ran it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the shm and ntcp worlds
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { explainLines } from '../bench/perf/explain.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { chooseAlgorithm, DEFAULT_DIRECT_THRESHOLD_BYTES, DEFAULT_TREE_THRESHOLD_BYTES } from '../lib/tune/select.js';
import { proposedChunkBytes, proposedLocalMeshThresholdBytes } from '../lib/transport/world.js';
import { NTCP_LOCAL_MESH_THRESHOLD_BYTES } from '../lib/transport/shm/shm-mesh.js';
import { requireAddon } from './helpers/native-transports.js';

requireAddon('ntcp');

const MiB = 1 << 20;
// Hops dear against bytes, so that the mesh's two hops (the ring's 2(n-1)) win its sizes.
const params: CostParams = { ...DEFAULT_COST_PARAMS, call: 20e-6, alpha: 200e-6, overhead: 5e-6, beta: 1e-9, gamma: 1e-10 };

function explained(transport: string): { header: string[]; columns: string[]; rows: Map<number, string[]> } {
  const options = parsePerfArgs(['allreduce', '--explain', '--np', '4', '--transport', transport, '-b', '8', '-e', '16M', '-f', '4']) as PerfOptions;
  const lines = explainLines(options, { params, what: 'the test' });
  const columns = lines.find((l) => l.startsWith('#') && /\bchoice\b/.test(l))!.replace(/^#/, '').trim().split(/\s+/);
  const rows = new Map(lines.filter((l) => !l.startsWith('#')).map((line) => {
    const cells = line.trim().split(/\s+/);
    return [Number(cells[0]), cells] as const;
  }));
  return { header: lines.filter((l) => l.startsWith('#')), columns, rows };
}

test('ntcp proposes its one-host mesh threshold; tcp and shm none', () => {
  assert.is(proposedLocalMeshThresholdBytes('ntcp', 4), NTCP_LOCAL_MESH_THRESHOLD_BYTES);
  assert.is(proposedLocalMeshThresholdBytes('tcp', 4), undefined);
  assert.is(proposedLocalMeshThresholdBytes('shm', 4), undefined);
});

test('ntcp: the mesh is priced up to the proposal and not past it, the choice the ranks\' auto makes; the header says whose threshold', () => {
  const { header, columns, rows } = explained('ntcp');
  assert.ok(header.some((l) => /mesh threshold 1 MiB \(ntcp's proposal for ranks on one host/.test(l)), header.join('\n'));
  const mesh = columns.indexOf('mesh');
  assert.ok(mesh > 0, columns.join(' '));
  const config = {
    algorithm: 'auto', treeThresholdBytes: DEFAULT_TREE_THRESHOLD_BYTES, directThresholdBytes: DEFAULT_DIRECT_THRESHOLD_BYTES,
    meshThresholdBytes: NTCP_LOCAL_MESH_THRESHOLD_BYTES, chunkBytes: proposedChunkBytes('ntcp', 4)!, tuning: { params, digest: 'test' },
  };
  let meshChosen = 0;
  for (const [bytes, cells] of rows) {
    assert.is(cells[mesh] === 'N/A', bytes > NTCP_LOCAL_MESH_THRESHOLD_BYTES, `${bytes} B: the mesh priced only up to the threshold (${cells.join(' ')})`);
    assert.is(cells[1], chooseAlgorithm('allReduce', bytes, 4, config, undefined, { dtype: 'float32', op: 'sum' }).algorithm, `${bytes} B`);
    if (cells[1] === 'mesh') meshChosen++;
  }
  assert.ok(meshChosen > 0, 'the mesh is the choice somewhere under the threshold');
});

test('tcp: no mesh column; WEBCCL_MESH_THRESHOLD_BYTES prices it and is named', () => {
  const plain = explained('tcp');
  assert.not.ok(plain.columns.includes('mesh'), plain.columns.join(' '));
  assert.ok(plain.header.some((l) => /mesh threshold 0 B \(tcp proposes none/.test(l)), plain.header.join('\n'));
  process.env['WEBCCL_MESH_THRESHOLD_BYTES'] = String(4 * MiB);
  try {
    const set = explained('tcp');
    assert.ok(set.columns.includes('mesh'), set.columns.join(' '));
    assert.ok(set.header.some((l) => /mesh threshold 4 MiB \(WEBCCL_MESH_THRESHOLD_BYTES;/.test(l)), set.header.join('\n'));
  } finally {
    delete process.env['WEBCCL_MESH_THRESHOLD_BYTES'];
  }
});

test.run();
