// The WGSL copy reference in both unit layouts (thread_unit in shaders/common.wgsl), whatever
// the device's own: what choosing 'coalesced' on GPUs and 'consecutive' on software adapters
// (GpuContext.unitLayout) is worth, measured where the benchmark runs.
import { referenceCase } from './reference.js';
import type { KernelCaseList } from './case.js';

export const kernelCases: KernelCaseList = (payloadBytes) => [
  referenceCase('copy', payloadBytes, 'coalesced'),
  referenceCase('copy', payloadBytes, 'consecutive'),
];
