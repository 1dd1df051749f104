// The board allgather (row 'board'): per chunk of a buffer, every rank copies its own block's
// chunk into its lane, arrives once, and copies the other n-1 ranks' chunks out of their lanes
// into place.
import { BOARD_BUFFER_BYTES } from '../transport/board.js';
import { runOnBoard } from './board-run.js';
import type { CollectiveContext, Region } from './context.js';
import type { Traffic, TrafficCall } from './traffic.js';

/** `work` holds size blocks of `blockLength`, block `rank` filled; afterwards all are. */
export async function boardAllGather(ctx: CollectiveContext, work: Region, _blockLength: number): Promise<void> {
  await runOnBoard(ctx, work, { collective: 'allGather', result: { offset: 0, length: work.length } }, async () => undefined);
}

/** Cost (lib/collectives/traffic.ts): one arrival per chunk of a buffer, its own block (`bytes`) copied in and n-1 copied out. */
export function boardAllGatherTraffic({ bytes, ranks }: TrafficCall): Traffic {
  if (bytes === 0 || ranks < 2) return { messages: 0, sends: 0, linkBytes: 0, reducedBytes: 0 };
  return { messages: Math.ceil(bytes / BOARD_BUFFER_BYTES), sends: 0, linkBytes: ranks * bytes, reducedBytes: 0 };
}
