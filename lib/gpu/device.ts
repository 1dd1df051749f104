// Acquires a GPUDevice from any GPU entry point (Dawn's in Node, navigator.gpu in browsers)
// with the features and limits webccl's kernels can use. Callers that already have a device
// skip this and inject theirs (see context.ts).
import { systemError } from '../errors.js';
import { logger } from '../log.js';

/** Features the kernels use when offered; each has a fallback path when it is not. */
const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups'];

/**
 * Limits raised to whatever the adapter allows (defaults are far below what kernels can use).
 * Every kernel also runs within the defaults, as on an injected device, except an n-ary
 * reduce of 8 sources in 8 other buffers: 9 storage buffers where the default allows 8.
 */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage',
] as const;

export interface DeviceOptions {
  readonly powerPreference?: GPUPowerPreference;
  /** Fail instead of falling back when the adapter lacks shader-f16. */
  readonly requireF16?: boolean;
}

const adapterNames = new WeakMap<GPUDevice, string>();

/** `noAdapterHint`: what the platform's user can do when no adapter is found. */
export async function requestGpuDevice(gpu: GPU, options: DeviceOptions = {}, noAdapterHint?: string): Promise<GPUDevice> {
  const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  if (!adapter) throw systemError(`no WebGPU adapter found${noAdapterHint ? ` (${noAdapterHint})` : ''}`);
  if (options.requireF16 && !adapter.features.has('shader-f16')) {
    throw systemError(`adapter ${describeAdapter(adapter.info)} lacks shader-f16, which was required`);
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const name = describeAdapter(adapter.info);
  adapterNames.set(device, name);
  const log = logger('GPU');
  log.info(`device on ${name}, features: ${requiredFeatures.join(', ') || 'none'}`);
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') log.warn(`device lost (${info.reason}): ${info.message}`);
  });
  return device;
}

function describeAdapter(info: GPUAdapterInfo): string {
  return info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
}

/** The adapter's name for benchmark headers: known for devices made here, else asked of the device. */
export function adapterName(device: GPUDevice): string {
  const known = adapterNames.get(device);
  if (known) return known;
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return info ? describeAdapter(info) : 'unknown adapter';
}

/** Whether the device runs on a CPU implementation (Dawn marks them fallback adapters, Mesa as 'software'). */
export function isSoftwareAdapter(device: GPUDevice): boolean {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).adapterInfo;
  if (!info) return false;
  return info.isFallbackAdapter === true || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(info.description);
}
