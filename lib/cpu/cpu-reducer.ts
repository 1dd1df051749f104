// Which code folds received bytes into host memory: the TypeScript kernels of lib/cpu (the
// oracle, everywhere), or a faster reducer with the same bits that an entry installs — the Node
// entry installs the native addon's SIMD loops when it loads (lib/cpu/native-reducer.ts). The
// core never imports the addon itself: the browser bundle must not pull in Node-only code.
// The 16-bit cast codec's host work (lib/cpu/host-codec.ts) is here too: its decode folds a
// payload into host memory, and its encode and plain decode are the same narrow/widen machinery.
// So are the block int8 and 1-bit codecs' loops (lib/cpu/block-kernels.ts).
import type { DataType, SimpleOp } from '../dtype.js';
import { TYPESCRIPT_BLOCK_KERNELS, type BlockKernels } from './block-kernels.js';
import { narrowBits, widenAccumulate, widenBits, type HalfType } from './cast.js';
import { finishAverage, reduceAccumulate } from './reduce.js';

export interface CpuReducer {
  /** 'typescript', or 'native(<variant>)' (for logs, benchmark headers and tests). */
  readonly name: string;
  /** dst[i] = dst[i] ⊕ src[i] over `count` elements (avg accumulates as sum). */
  accumulate(dtype: DataType, op: SimpleOp, dst: Uint8Array, src: Uint8Array, count: number): void;
  /** dst[i] = src[i] / divisor (floats multiply by f32(1/divisor), integers truncate). */
  finishAverage(dtype: DataType, dst: Uint8Array, src: Uint8Array, count: number, divisor: number): void;
  /** acc[i] = fl(acc[i] + the 16-bit value src[i]), equal counts: cast.ts's widenAccumulate (its NaN rule included). */
  widenAccumulate(from: HalfType, acc: Float32Array, src: Uint16Array): void;
  /** dst[i] = the f32 with bits src[i] rounded to `to`, equal counts: cast.ts's narrowBits. */
  narrow(to: HalfType, dst: Uint16Array, src: Uint32Array): void;
  /** dst[i] = the f32 bits of the 16-bit value src[i], equal counts: cast.ts's widenBits. */
  widen(from: HalfType, dst: Uint32Array, src: Uint16Array): void;
  /** The block int8 and 1-bit codecs' encode and decode loops, bit for bit lib/cpu/int8.ts and onebit.ts. */
  readonly blocks: BlockKernels;
  /**
   * Whose loops every 16-bit and block codec runs: 'native' only where the addon has each of them.
   * The cost model's defaults (lib/tune/params.ts) price the codecs by it: the addon's run 10-100x
   * faster, which decides whether a codec pays on an uncalibrated link.
   */
  readonly codecLoops: 'typescript' | 'native';
}

export const TYPESCRIPT_REDUCER: CpuReducer = {
  name: 'typescript',
  accumulate: (dtype, op, dst, src, count) => reduceAccumulate(dst, [src], count, dtype, op),
  finishAverage: (dtype, dst, src, count, divisor) => finishAverage(dst, src, count, dtype, divisor),
  widenAccumulate,
  narrow: narrowBits,
  widen: widenBits,
  blocks: TYPESCRIPT_BLOCK_KERNELS,
  codecLoops: 'typescript',
};

let installed: CpuReducer = TYPESCRIPT_REDUCER;

/** Installs `reducer` for every host-memory call from now on (undefined: back to TypeScript). */
export function useCpuReducer(reducer: CpuReducer | undefined): void {
  installed = reducer ?? TYPESCRIPT_REDUCER;
}

export function cpuReducer(): CpuReducer {
  return installed;
}
