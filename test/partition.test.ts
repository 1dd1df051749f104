// How algorithms cut buffers: the pipelined chunk size is the agreed one, or smaller so that
// a call has enough chunks to overlap, within bounds every rank computes alike.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pipelinedChunkElements } from '../lib/collectives/partition.js';

test('pipelined chunks: the agreed size for long segments, a depth-th of shorter ones, a quarter at least', () => {
  const chunk = 262144; // 1 MiB of float32
  assert.is(pipelinedChunkElements(32 * chunk, chunk, 4, 4), chunk);
  assert.is(pipelinedChunkElements(2 * chunk, chunk, 4, 4), chunk / 2);
  assert.is(pipelinedChunkElements(chunk / 8, chunk, 4, 4), chunk / 4);
  assert.is(pipelinedChunkElements(10, chunk, 4, 4), chunk / 4);
  // Aligned, and never below the alignment (tiny agreed chunks, as tests use).
  assert.is(pipelinedChunkElements(1001, 16, 3, 4) % 4, 0);
  assert.is(pipelinedChunkElements(1001, 16, 3, 4), 16);
  assert.is(pipelinedChunkElements(1001, 4, 3, 4), 4);
  assert.is(pipelinedChunkElements(0, 8, 1, 4), 4);
});

test.run();
