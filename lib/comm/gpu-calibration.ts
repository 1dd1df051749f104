// Calibration's view of a communicator's GPU device (lib/tune/calibrate.ts measures GPU memory
// through it): the fold kernel timed alone, and allreduces of GPUBuffers. Buffers are made once
// per size and kept for the calibration (creating one per run would be timed too).
import { GpuContext } from '../gpu/context.js';
import { gpuReduceAccumulate } from '../gpu/reduce.js';
import { region } from '../gpu/region.js';
import { requiredUsage } from '../gpu/gpu-memory.js';
import type { GpuCalibration } from '../tune/calibrate.js';
import type { Communicator } from './communicator.js';

const align4 = (n: number) => Math.max(4, Math.ceil(n / 4) * 4);

export function gpuCalibration(comm: Pick<Communicator, 'allReduce'>, device: GPUDevice): GpuCalibration {
  const buffers = new Map<number, GPUBuffer>();
  const bufferOf = (bytes: number, slot = 0) => {
    const key = 2 * align4(bytes) + slot;
    let buffer = buffers.get(key);
    if (!buffer) buffers.set(key, (buffer = device.createBuffer({ size: align4(bytes), usage: requiredUsage() })));
    return buffer;
  };
  const ctx = GpuContext.for(device);
  return {
    async fold(bytes) {
      const [dst, src] = [bufferOf(bytes, 0), bufferOf(bytes, 1)];
      const started = performance.now();
      await gpuReduceAccumulate(ctx, region(dst), [region(src)], align4(bytes) / 4, 'float32', 'sum');
      return (performance.now() - started) / 1000;
    },
    async allReduce(bytes, algorithm) {
      const buffer = bufferOf(bytes);
      // Zeros stay zeros under sum: the same values every run, and no overflow.
      await comm.allReduce(buffer, buffer, align4(bytes) / 4, 'float32', 'sum', { algorithm });
    },
    release() {
      for (const buffer of buffers.values()) buffer.destroy();
      buffers.clear();
    },
  };
}
