// The communicator over a native transport (shm or ntcp), ranks in this process joined by a
// real rendezvous: the collective matrix, and mismatched calls that must fail as InvalidUsage
// naming both ranks (headers travel). comm-shm.test.ts and comm-ntcp.test.ts each run it once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../lib/index.node.js'; // registers the webccl+shm:// and webccl+ntcp:// worlds
import { WebcclError } from '../../lib/errors.js';
import { registerCollectiveMatrix } from './collective-matrix.js';
import { ntcpChunkBytes, ntcpMeshThresholdBytes, NTCP_LOCAL_MESH_THRESHOLD_BYTES, NTCP_MESH_THRESHOLD_BYTES, SHM_CHUNK_BYTES } from '../../lib/transport/shm/shm-mesh.js';
import { createWorld, destroyWorld, inputFor, oracleReduce, sameElements } from './comm-world.js';
import { requireAddon, type NativeTransport } from './native-transports.js';
import { within } from '../within.js';

export function runCommNativeSuite(transport: NativeTransport): void {
  requireAddon(transport);
  registerCollectiveMatrix(transport);

  test(`${transport}: mismatched counts are InvalidUsage naming both ranks and both calls (headers travel), no timeout`, async () => {
    const comms = await createWorld(3, { timeoutMs: 20_000 }, transport);
    const bufs = comms.map(() => new Float32Array(20));
    const errors = await within(Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, r === 1 ? 10 : 20, 'float32', 'sum', { algorithm: 'ring' })
      .then(() => undefined, (error: unknown) => error as WebcclError))), 5000, 'every rank rejects');
    for (const error of errors) {
      assert.instance(error, WebcclError);
      assert.is(error!.code, 'InvalidUsage', error!.message);
    }
    // Rank 2 receives from rank 1 on the ring: it compares the header with its own call.
    assert.match(errors[2]!.message, /rank 2 called allReduce\(count=20, float32, sum\) \[ring\] but rank 1 called allReduce\(count=10, float32, sum\) \[ring\]/);
    await destroyWorld(comms);
  });
  test(`${transport}: the chunk size and mesh threshold default to the transport's own (shm: SHM_CHUNK_BYTES, none; ntcp: ntcpChunkBytes(ranks), 4 MiB a rank from 3 ranks, and 1 MiB on one host); a large allreduce with it matches the oracle`, async () => {
    const expected = transport === 'shm' ? SHM_CHUNK_BYTES : 3 * (4 << 20);
    if (transport === 'ntcp') assert.equal([1, 2, 3, 4, 8, 16].map(ntcpChunkBytes), [4 << 20, 4 << 20, 12 << 20, 16 << 20, 32 << 20, 32 << 20]);
    const comms = await createWorld(3, { timeoutMs: 20_000 }, transport);
    for (const comm of comms) assert.is(comm.config.chunkBytes, expected);
    // ntcp proposes its mesh threshold (allreduces up to 1 MiB on one host, 4 MiB across hosts,
    // run the mesh from 3 ranks up); shm none.
    for (const comm of comms) assert.is(comm.config.meshThresholdBytes, transport === 'ntcp' ? NTCP_LOCAL_MESH_THRESHOLD_BYTES : undefined);
    if (transport === 'ntcp') {
      assert.is(ntcpMeshThresholdBytes('127.0.0.1:40001 ab', ['127.0.0.1:40002 cd', '127.0.0.1:40003 ef']), 1 << 20);
      assert.is(ntcpMeshThresholdBytes('10.0.0.1:40001 ab', ['10.0.0.1:40002 cd', '10.0.0.2:40003 ef']), NTCP_MESH_THRESHOLD_BYTES);
      assert.is(NTCP_MESH_THRESHOLD_BYTES, 4 << 20);
    }
    // 3 × 1.5 MiB segments, one chunk each over shm: messages of 1.5 MiB go by reference whole.
    const count = 3 * 3 * (1 << 17) + 5;
    const inputs = comms.map((_, rank) => inputFor('float32', 'sum', rank, count));
    const bufs = inputs.map((input) => input.slice());
    await within(Promise.all(comms.map((c, r) => c.allReduce(bufs[r]!, bufs[r]!, count, 'float32', 'sum', { algorithm: 'ring' }))), 20_000, 'allreduce');
    const oracle = oracleReduce(inputs, count, 'float32', 'sum');
    for (const [rank, buf] of bufs.entries()) sameElements(buf, oracle, `rank ${rank}`);
    await destroyWorld(comms);
    const chosen = await createWorld(2, { chunkBytes: 4096 }, transport);
    for (const comm of chosen) assert.is(comm.config.chunkBytes, 4096);
    await destroyWorld(chosen);
  });
  test.run();
}
