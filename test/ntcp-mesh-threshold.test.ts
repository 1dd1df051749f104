// The mesh threshold the ntcp transport proposes (ntcpMeshThresholdBytes): from its peers'
// endpoint addresses and their count. A pure function of both, so every rank 0 proposes alike.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ntcpChunkBytes, ntcpMeshThresholdBytes } from '../lib/transport/shm/shm-mesh.js';
import { selectAlgorithm, type TuningConfig } from '../lib/tune/select.js';
import { callTraffic } from '../lib/tune/model.js';

/** Endpoint addresses (`ip:port token`) of `ranks` ranks, rank r on host hostOf(r); the first is rank 0's own. */
function world(ranks: number, hostOf: (rank: number) => number): { own: string; peers: string[] } {
  const addresses = Array.from({ length: ranks }, (_, rank) => `10.0.0.${hostOf(rank) + 1}:${40001 + rank} t${rank}`);
  return { own: addresses[0]!, peers: addresses.slice(1) };
}
const threshold = (ranks: number, hostOf: (rank: number) => number) => {
  const { own, peers } = world(ranks, hostOf);
  return ntcpMeshThresholdBytes(own, peers);
};

test('across hosts the threshold is 4 MiB at 3 ranks and 16 MiB from 4 on; on one host 1 MiB at any count', () => {
  assert.is(threshold(3, (r) => r), 4 << 20, '3 ranks on as many hosts');
  for (const ranks of [4, 6, 7, 8, 9, 16, 64]) assert.is(threshold(ranks, (r) => r), 16 << 20, `${ranks} ranks on as many hosts`);
  // Eight ranks of which one is on another host: the links between hosts are what the rule is about.
  assert.is(threshold(8, (r) => (r === 5 ? 1 : 0)), 16 << 20, '8 ranks, one elsewhere');
  assert.is(threshold(8, (r) => r % 2), 16 << 20, '8 ranks on two hosts');
  for (const ranks of [3, 4, 8, 16]) assert.is(threshold(ranks, () => 0), 1 << 20, `${ranks} ranks on one host`);
});

test('4 and 8 ranks across hosts: auto runs the mesh up to 16 MiB and the ring past it; 3 keep the ring past 4 MiB', () => {
  const config = (ranks: number): TuningConfig => ({ algorithm: 'auto', treeThresholdBytes: 65536, directThresholdBytes: 32768, chunkBytes: ntcpChunkBytes(ranks), meshThresholdBytes: threshold(ranks, (r) => r) });
  assert.is(selectAlgorithm('allReduce', 16 << 20, 8, config(8)), 'mesh');
  assert.is(selectAlgorithm('allReduce', 8 << 20, 8, config(8)), 'mesh');
  assert.is(selectAlgorithm('allReduce', (16 << 20) + 4, 8, config(8)), 'ring', 'past 16 MiB: 4 MiB segments lost (0.6x the ring)');
  assert.is(selectAlgorithm('allReduce', 16 << 20, 4, config(4)), 'mesh');
  assert.is(selectAlgorithm('allReduce', (16 << 20) + 4, 4, config(4)), 'ring');
  assert.is(selectAlgorithm('allReduce', 8 << 20, 3, config(3)), 'ring');
  assert.is(selectAlgorithm('allReduce', 4 << 20, 3, config(3)), 'mesh');
  // The model can price what auto runs: a 16 MiB call's segments (2 MiB at 8 ranks, 4 MiB at 4) are within a quarter of the chunk.
  assert.ok(callTraffic('mesh', { collective: 'allReduce', bytes: 16 << 20, ranks: 8, chunkBytes: ntcpChunkBytes(8) }) !== undefined);
  assert.ok(callTraffic('mesh', { collective: 'allReduce', bytes: 16 << 20, ranks: 4, chunkBytes: ntcpChunkBytes(4) }) !== undefined);
});

test.run();
