// The per-dispatch cost of the small-message path (`npm run bench:kernels -- --dispatches N`):
// N tiny in-place float32 sum reductions recorded into one encoder and submitted, as a
// collective on small messages does. Wall-clock on the host, because what dominates there is
// per-dispatch host work (uniform buffer, bind group, pass), not GPU time. It exports no
// kernelCases, so the GB/s table does not list it.
import { encodeReduceAccumulate } from '../../lib/gpu/reduce.js';
import type { GpuContext } from '../../lib/gpu/context.js';
import { region } from '../../lib/gpu/region.js';
import { filledBuffer } from './case.js';

export interface DispatchOverhead {
  readonly dispatches: number;
  /** Median over the rounds: microseconds per dispatch spent recording, and recording through completion. */
  readonly recordUs: number;
  readonly totalUs: number;
}

const ELEMENTS = 64;

export async function measureDispatchOverhead(ctx: GpuContext, dispatches: number, rounds: number): Promise<DispatchOverhead> {
  const dst = filledBuffer(ctx, ELEMENTS * 4);
  const src = filledBuffer(ctx, ELEMENTS * 4);
  const record = (encoder: GPUCommandEncoder) => {
    for (let i = 0; i < dispatches; i++) encodeReduceAccumulate(ctx, encoder, region(dst), [region(src)], ELEMENTS, 'float32', 'sum');
  };
  const recordTimes: number[] = [];
  const totalTimes: number[] = [];
  for (let round = 0; round <= rounds; round++) { // round 0 warms the pipeline and caches up
    const start = performance.now();
    const encoder = ctx.device.createCommandEncoder();
    record(encoder);
    const recorded = performance.now();
    ctx.device.queue.submit([encoder.finish()]);
    await ctx.device.queue.onSubmittedWorkDone();
    if (round > 0) {
      recordTimes.push(recorded - start);
      totalTimes.push(performance.now() - start);
    }
  }
  dst.destroy();
  src.destroy();
  const medianUs = (ms: number[]) => ([...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)]! * 1e3) / dispatches;
  return { dispatches, recordUs: medianUs(recordTimes), totalUs: medianUs(totalTimes) };
}
