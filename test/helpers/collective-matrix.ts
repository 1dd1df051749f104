// The collective matrix over a transport between ranks in this process joined by a real
// rendezvous and a real socket mesh (websocket or tcp): every collective, count, dtype and
// placement at 1-8 ranks (allReduce by ring, tree, auto and mesh), 2^20+3 elements at 3 ranks, and ring allReduce sent straight from
// the user's array. Each transport's suite registers it.
import { test } from 'uvu';
import type { TransportSetting } from '../../lib/settings.js';
import {
  ALGORITHMS, checkAllGather, checkAllReduce, checkAllToAll, checkBroadcast, checkReduce, checkReduceScatter, rootsOf,
} from './collective-checks.js';
import { createWorld, destroyWorld, DTYPES, opsFor } from './comm-world.js';

export function registerCollectiveMatrix(transport: Exclude<TransportSetting, 'inproc'>): void {
  const RANKS = [1, 2, 3, 4, 5, 8];
  const COUNTS = [0, 1, 7, 1000];
  const BIG = 2 ** 20 + 3;

  for (const size of RANKS) {
    test(`${transport}: ${size} ranks, every collective, count, dtype and placement (every op for allReduce)`, async () => {
      // Small chunks, so that 1000 elements travel as several pipelined messages.
      const comms = await createWorld(size, { chunkBytes: 256, pipelineDepth: 2 }, transport);
      try {
        for (const count of COUNTS) {
          for (const dtype of DTYPES) {
            const ops = opsFor(dtype);
            const op = ops[count % ops.length]!;
            for (const inPlace of [false, true]) {
              for (const algorithm of ALGORITHMS) {
                for (const each of ops) await checkAllReduce(comms, count, dtype, each, inPlace, algorithm);
                const root = rootsOf(size)[count % rootsOf(size).length]!;
                await checkBroadcast(comms, count, dtype, root, inPlace, algorithm);
                await checkReduce(comms, count, dtype, op, root, inPlace, algorithm);
              }
              await checkAllReduce(comms, count, dtype, op, inPlace, 'auto');
              await checkAllReduce(comms, count, dtype, op, inPlace, 'mesh');
              await checkAllGather(comms, count, dtype, inPlace);
              await checkReduceScatter(comms, count, dtype, op, inPlace);
              await checkAllToAll(comms, count, dtype, inPlace);
            }
          }
        }
      } finally {
        await destroyWorld(comms);
      }
    });
  }

  test(`${transport}: 2^20+3 elements, every collective, 3 ranks`, async () => {
    const comms = await createWorld(3, {}, transport);
    try {
      await checkAllReduce(comms, BIG, 'float32', 'sum', false, 'ring');
      await checkAllReduce(comms, BIG, 'bfloat16', 'avg', true, 'tree');
      // The mesh's second hop lands on arrival (ntcp, shm): in place, and from a separate send buffer.
      await checkAllReduce(comms, BIG, 'float32', 'sum', true, 'mesh');
      await checkAllReduce(comms, BIG, 'int32', 'max', false, 'mesh');
      await checkBroadcast(comms, BIG, 'int32', 2, false, 'ring');
      await checkReduce(comms, BIG, 'uint32', 'max', 1, true, 'tree');
      await checkAllGather(comms, BIG, 'float16', false);
      await checkReduceScatter(comms, BIG, 'float32', 'sum', true);
      await checkAllToAll(comms, BIG, 'int32', false);
    } finally {
      await destroyWorld(comms);
    }
  });

  for (const size of [2, 4]) {
    test(`${transport}: ${size} ranks, ring allReduce of 2^20+3 in place, sent straight from the user's array`, async () => {
      // 64 KiB chunks are sent without a copy (websocket: web-socket-channel.ts; tcp: tcp-channel.ts),
      // so a chunk written while its send were still queued would arrive corrupted.
      const comms = await createWorld(size, { chunkBytes: 64 * 1024, pipelineDepth: 4 }, transport);
      try {
        await checkAllReduce(comms, BIG, 'float32', 'sum', true, 'ring');
        await checkAllReduce(comms, BIG, 'int32', 'max', false, 'ring');
      } finally {
        await destroyWorld(comms);
      }
    });
  }
}
