// Times GPU work recorded into one command buffer. With timestamp-query the GPU's own clock
// brackets the work (an empty compute pass writes a timestamp before it, another after), so
// submission and readback latency are excluded; without it, wall-clock time from submit to
// onSubmittedWorkDone is used (an over-estimate by the submission latency).
import type { GpuContext } from '../lib/gpu/context.js';

export type TimingMethod = 'timestamp-query' | 'wall-clock';

export class KernelTimer {
  readonly method: TimingMethod;
  private readonly querySet: GPUQuerySet | undefined;
  private readonly resolved: GPUBuffer | undefined;
  private readonly readback: GPUBuffer | undefined;

  constructor(private readonly ctx: GpuContext) {
    this.method = ctx.hasTimestamps ? 'timestamp-query' : 'wall-clock';
    if (ctx.hasTimestamps) {
      const device = ctx.device;
      this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolved = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      this.readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
  }

  /** Milliseconds the GPU spent on the work `record` encodes. */
  async time(record: (encoder: GPUCommandEncoder) => void): Promise<number> {
    const device = this.ctx.device;
    const encoder = device.createCommandEncoder();
    const { querySet, resolved, readback } = this;
    if (querySet) encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0 } }).end();
    record(encoder);
    if (querySet && resolved && readback) {
      encoder.beginComputePass({ timestampWrites: { querySet, endOfPassWriteIndex: 1 } }).end();
      encoder.resolveQuerySet(querySet, 0, 2, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, readback, 0, 16);
    }
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - start;
    if (!readback) return wallMs;
    await readback.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(readback.getMappedRange());
    readback.unmap();
    return Number(end! - begin!) / 1e6;
  }

  dispose(): void {
    this.querySet?.destroy();
    this.resolved?.destroy();
    this.readback?.destroy();
  }
}
