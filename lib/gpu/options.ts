// Options every kernel family accepts.
import { invalidArgument } from '../errors.js';
import type { GpuContext, UnitLayout } from './context.js';

export interface KernelOptions {
  /** Threads per workgroup (default 256, or BLOCK_WORKGROUP_SIZE for per-block kernels; capped by the device). Part of the pipeline cache key. */
  readonly workgroupSize?: number;
  /** Split work into pieces bound within this many bytes (default: the device's limit); for tests. */
  readonly maxBindingBytes?: number;
  /**
   * The unit layout of the kernels that use thread_unit (default: the context's, by device
   * kind); for tests, which run the hardware GPUs' 'coalesced' layout on lavapipe too.
   */
  readonly unitLayout?: UnitLayout;
}

export const DEFAULT_WORKGROUP_SIZE = 256;

/**
 * Default for kernels that run one workgroup per block: the block's threads meet at a barrier
 * and an atomic, which lavapipe pays for per thread (256 threads ran 3-4x slower than 32 on a
 * 256-element block); 32 is still a whole warp on real GPUs.
 */
export const BLOCK_WORKGROUP_SIZE = 32;

export function checkWorkgroupSize(ctx: GpuContext, requested: number | undefined, preferred = DEFAULT_WORKGROUP_SIZE): number {
  const limits = ctx.device.limits;
  const max = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  if (requested === undefined) return Math.min(preferred, max);
  if (!Number.isInteger(requested) || requested < 1 || requested > max) {
    throw invalidArgument(`workgroup size ${requested} is not an integer in 1 .. ${max}`);
  }
  return requested;
}
