// Options every kernel family accepts.
import { invalidArgument } from '../errors.js';
import type { GpuContext } from './context.js';

export interface KernelOptions {
  /** Threads per workgroup (default 256, capped by the device). Part of the pipeline cache key. */
  readonly workgroupSize?: number;
  /** Split work into pieces bound within this many bytes (default: the device's limit); for tests. */
  readonly maxBindingBytes?: number;
}

export const DEFAULT_WORKGROUP_SIZE = 256;

export function checkWorkgroupSize(ctx: GpuContext, requested: number | undefined): number {
  const limits = ctx.device.limits;
  const max = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  if (requested === undefined) return Math.min(DEFAULT_WORKGROUP_SIZE, max);
  if (!Number.isInteger(requested) || requested < 1 || requested > max) {
    throw invalidArgument(`workgroup size ${requested} is not an integer in 1 .. ${max}`);
  }
  return requested;
}
