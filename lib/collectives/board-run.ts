// What every board algorithm (board-allreduce.ts, board-reduce.ts, board-reducescatter.ts,
// board-allgather.ts, board-broadcast.ts) shares: the call's bytes handed to the transport's
// collective board (lib/transport/board.ts, native/src/board.cc), where the collective runs in
// native code out of one shared segment with no message, and the board released on every path.
// Host memory lends its own bytes (Memory.inPlace), run in place; other memories (GPU buffers)
// are staged: read into host bytes, run, and what the collective wrote written back.
import { internalError } from '../errors.js';
import { isSharedHostBuffer } from '../memory/host-buffers.js';
import type { BoardCollective } from '../transport/board.js';
import { aggregateOp } from './aggregator-allreduce.js';
import type { ReductionCall } from './algorithms.js';
import type { CollectiveContext, Region } from './context.js';
import type { Span } from './partition.js';

/** One collective's use of the board: which, its root, and the elements of `work` it leaves changed on this rank (staged memories write them back). */
export interface BoardStep {
  readonly collective: BoardCollective;
  readonly root?: number;
  readonly result: Span | undefined;
  /**
   * reduceScatter out of place: the region (one block) that gets the result, `work` then only
   * read (`result` is then unused). Staged memories write it back from a block of host bytes.
   */
  readonly output?: Region;
  /**
   * allReduce out of place: the send buffer, read where it is (its memory lends its bytes: the
   * plan passes it only then, with peers), so that `work` is only written.
   */
  readonly input?: Region;
}

/** Runs `step` over `work` on the board (a world of one: `alone` instead, nothing shared). */
export async function runOnBoard(ctx: CollectiveContext, work: Region, step: BoardStep, alone: () => Promise<void>): Promise<void> {
  const binding = ctx.board;
  if (binding === undefined) throw internalError(`the board algorithm ran ${step.collective} without a board`);
  try {
    const { memory } = ctx;
    const count = work.length;
    if (count === 0) return;
    if (ctx.size === 1) return await alone();
    let input = step.input && memory.inPlace?.(step.input, 0, count);
    if (step.input && input === undefined) throw internalError(`the board was given an ${step.collective} input its memory cannot lend`);
    const { board, dtype, op } = binding;
    const own = memory.inPlace?.(work, 0, count);
    // A result buffer in shared host memory is read by the peers where it is (the board's direct
    // path, which a separate input turns off): the input goes into it first, as in place.
    if (input !== undefined && own !== undefined && isSharedHostBuffer(own.buffer)) {
      own.set(input);
      input = undefined;
    }
    const bytes = own ?? await memory.read(work, 0, count);
    const fold = op === undefined ? {} : { op: aggregateOp(op), average: op === 'avg' };
    const { output } = step;
    const lent = output && memory.inPlace?.(output, 0, output.length);
    const outputBytes = output && (lent ?? new Uint8Array((bytes.byteLength / count) * output.length));
    await board.run(bytes, { collective: step.collective, dtype, ...fold, ...(step.root !== undefined && { root: step.root }), ...(outputBytes && { output: outputBytes }), ...(input && { input }) });
    if (output !== undefined) {
      if (lent === undefined && output.length > 0) await memory.write(output, 0, output.length, outputBytes!);
      return;
    }
    const { result } = step;
    if (own === undefined && result !== undefined && result.length > 0) {
      const size = bytes.byteLength / count;
      await memory.write(work, result.offset, result.length, bytes.subarray(result.offset * size, (result.offset + result.length) * size));
    }
  } finally {
    // The next call bound to the board (a group's) may start.
    binding.board.done();
  }
}

/** Why the board cannot run a call: only where the transport offers one (ranks sharing a host's memory). */
export function boardRefusal(call: ReductionCall): string | undefined {
  if (call.board) return undefined;
  return 'the board algorithm needs ranks that share one host\'s memory: the shm transport (webccl+shm://, WEBCCL_TRANSPORT=shm) with the native addon; this communicator\'s transport has no board';
}
