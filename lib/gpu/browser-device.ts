// Browser: a GPUDevice from navigator.gpu.
import { systemError } from '../errors.js';
import { requestGpuDevice, type DeviceOptions } from './device.js';

export function createBrowserDevice(options: DeviceOptions = {}): Promise<GPUDevice> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return Promise.reject(systemError('navigator.gpu is not available (WebGPU disabled or unsupported in this browser)'));
  return requestGpuDevice(gpu, options);
}
