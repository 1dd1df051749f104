// A race the board's host-buffer paths must win (native/src/board.cc, Board::publishes): two
// native board sessions whose views lie in host buffers, one rank slowed before it maps and reads
// its peer's buffer and, for an allreduce or reduce, again before it folds the last chunk
// (WEBCCL_BOARD_TEST_READ_DELAY_MS), the other overwriting its buffer as soon as
// its call resolves. A call that let the owner return before the slow rank read would hand that
// rank the overwritten elements.
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { boardSegmentName, NativeBoardSession } from '../../lib/native/board.js';
import { nativeAddon } from '../../lib/native/load.js';
import type { BoardWork } from '../../lib/native/addon.js';
import { BOARD_BUFFER_BYTES } from '../../lib/transport/board.js';
import { requireAddon } from './native-transports.js';
import { within } from '../within.js';

/**
 * Runs `work` (uint32 sum) over 2 ranks' host buffers of 2 lane buffers and a bit, holding
 * rank + 1, rank `slow` reading 1 s late and the other overwriting its own with 0xdead once its
 * call resolves; asserts the direct path on both and 1 + 2 everywhere in rank `slow`'s view.
 */
export async function raceSlowReader(tag: string, work: BoardWork, slow: number): Promise<void> {
  const load = requireAddon('shm');
  if (!('addon' in load)) throw new Error('unreachable');
  const addon = nativeAddon()!;
  const bytes = 2 * BOARD_BUFFER_BYTES + 64;
  const name = boardSegmentName(randomBytes(16).toString('hex'), tag);
  const open = (rank: number) => {
    const env = rank === slow ? { WEBCCL_BOARD_TEST_READ_DELAY_MS: '1000' } : {};
    Object.assign(process.env, env);
    try {
      return new NativeBoardSession(load.addon, name, rank, 2, BOARD_BUFFER_BYTES, 10_000);
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
    }
  };
  const boards = [open(0), open(1)];
  const data = [0, 1].map(() => new Uint32Array(addon.allocHostBuffer!(bytes)));
  data.forEach((view, rank) => view.fill(rank + 1));
  const before = addon.boardCounters!().hostBufferCalls;
  try {
    await within(Promise.all(boards.map(async (board, rank) => {
      const call = board.forCall(1);
      try {
        await call.run(new Uint8Array(data[rank]!.buffer), work);
        if (rank !== slow) data[rank]!.fill(0xdead);
      } finally {
        call.done();
      }
    })), 20_000, `the ${work.collective}`);
    assert.is(addon.boardCounters!().hostBufferCalls - before, 2, 'direct on both ranks');
    const wrong = data[slow]!.findIndex((value) => value !== 3);
    assert.is(wrong, -1, `rank ${slow}'s element ${wrong} is ${data[slow]![wrong]}, not 1 + 2`);
  } finally {
    for (const board of boards) board.close();
    for (const view of data) addon.freeHostBuffer!(view.buffer as ArrayBuffer);
  }
}
