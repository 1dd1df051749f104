// Reduce kernels: the forms a ring allreduce uses (accumulate one source, n-ary over 2 and 8),
// each dtype's storage path, and the scale operation.
import { elementBytes, premulSum, type DataType, type ReduceOp } from '../../lib/dtype.js';
import { encodeFinishAverage, encodeReduceAccumulate, encodeReduceNary } from '../../lib/gpu/reduce.js';
import { region } from '../../lib/gpu/region.js';
import { filledBuffer, type KernelCase, type KernelCaseList } from './case.js';

function reduceCase(form: 'accumulate' | 'n-ary', dtype: DataType, op: ReduceOp, sources: number, payloadBytes: number): KernelCase {
  const count = payloadBytes / elementBytes(dtype);
  const reads = form === 'accumulate' ? sources + 1 : sources;
  const opLabel = typeof op === 'string' ? op : 'premulSum';
  return {
    name: `reduce ${form} ${opLabel} ${dtype} k=${sources}`,
    bytesMoved: (reads + 1) * payloadBytes,
    setup(ctx) {
      const dst = filledBuffer(ctx, payloadBytes);
      const srcs = Array.from({ length: sources }, () => filledBuffer(ctx, payloadBytes));
      const regions = srcs.map((b) => region(b));
      const encode = form === 'accumulate' ? encodeReduceAccumulate : encodeReduceNary;
      return {
        record: (encoder) => encode(ctx, encoder, region(dst), regions, count, dtype, op),
        dispose: () => { for (const b of [dst, ...srcs]) b.destroy(); },
      };
    },
  };
}

function finishAverageCase(dtype: DataType, payloadBytes: number): KernelCase {
  return {
    name: `finishAverage ${dtype} (in place)`,
    bytesMoved: 2 * payloadBytes,
    setup(ctx) {
      const buffer = filledBuffer(ctx, payloadBytes);
      return {
        record: (encoder) => encodeFinishAverage(ctx, encoder, region(buffer), region(buffer), payloadBytes / elementBytes(dtype), dtype, 4),
        dispose: () => buffer.destroy(),
      };
    },
  };
}

export const kernelCases: KernelCaseList = (payloadBytes) => [
  reduceCase('accumulate', 'float32', 'sum', 1, payloadBytes),
  reduceCase('n-ary', 'float32', 'sum', 2, payloadBytes),
  reduceCase('n-ary', 'float32', 'sum', 8, payloadBytes),
  reduceCase('n-ary', 'float32', premulSum(0.5), 2, payloadBytes),
  reduceCase('n-ary', 'float16', 'sum', 2, payloadBytes),
  reduceCase('n-ary', 'bfloat16', 'sum', 2, payloadBytes),
  reduceCase('n-ary', 'int32', 'max', 2, payloadBytes),
  reduceCase('accumulate', 'uint32', 'prod', 1, payloadBytes),
  finishAverageCase('float32', payloadBytes),
];
