// The board broadcast (row 'board'): per chunk of a buffer, the root copies the chunk into its
// lane, every rank arrives once, and the others copy it out: two copies in all, whatever the
// rank count (the chain broadcast passes it through n-1 hops of the transport).
import { BOARD_BUFFER_BYTES } from '../transport/board.js';
import { runOnBoard } from './board-run.js';
import type { CollectiveContext, Region } from './context.js';
import type { Traffic, TrafficCall } from './traffic.js';

/** `work` holds the data on `root`; afterwards it does on every rank. */
export async function boardBroadcast(ctx: CollectiveContext, work: Region, root: number): Promise<void> {
  const result = ctx.rank === root ? undefined : { offset: 0, length: work.length };
  await runOnBoard(ctx, work, { collective: 'broadcast', root, result }, async () => undefined);
}

/** Cost (lib/collectives/traffic.ts): one arrival per chunk of a buffer; the root copies the data in, the others copy it out. */
export function boardBroadcastTraffic({ bytes, ranks }: TrafficCall): Traffic {
  if (bytes === 0 || ranks < 2) return { messages: 0, sends: 0, linkBytes: 0, reducedBytes: 0 };
  return { messages: Math.ceil(bytes / BOARD_BUFFER_BYTES), sends: 0, linkBytes: bytes, reducedBytes: 0 };
}
