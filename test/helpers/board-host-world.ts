// What the board's host-buffer fold tests share (test/board-host-fold.test.ts for allreduce,
// test/board-host-reduce.test.ts for reduce): a world of ranks on the board over shm, the
// board's path counters, and where a sliced call publishes (native/src/board.cc, Board::publishes).
import { Communicator, getUniqueId } from '../../lib/index.node.js';
import { nativeAddon } from '../../lib/native/load.js';
import { BOARD_BUFFER_BYTES } from '../../lib/transport/board.js';
import { requireAddon } from './native-transports.js';

const load = requireAddon('shm');
if (!('addon' in load)) throw new Error('unreachable');
export const addon = nativeAddon()!;
export const counters = () => addon.boardCounters!();

/** Where a large allreduce or reduce publishes (board.cc's Board::publishes): more than one lane buffer. */
export const folds = (bytes: number) => bytes > BOARD_BUFFER_BYTES;

/** Which of a rank's buffers lie in host buffers: `send` (= recv in place), `recv`. */
export interface Placement { readonly inPlace: boolean; readonly send: boolean; readonly recv: boolean }

export async function boardWorld(size: number): Promise<Communicator[]> {
  const id = await getUniqueId({ transport: 'shm' });
  return Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, timeoutMs: 20_000, algorithm: 'board' })));
}
