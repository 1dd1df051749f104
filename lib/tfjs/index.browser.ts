// webccl/tfjs in browsers: TensorFlow.js helpers for data-parallel training (see api.ts), plus
// the setup of TF.js's webgpu backend on navigator.gpu. Never imports a Node module.
import { createBrowserDevice, type DeviceOptions } from '../index.browser.js';
import { useWebgpuBackend } from './backend.js';

export * from './api.js';

export interface TfjsWebgpuOptions extends DeviceOptions {
  /** The device to run TF.js on (the communicator's); default: a new one from createBrowserDevice(). */
  readonly device?: GPUDevice;
}

/** Registers TF.js's webgpu backend on `options.device` or a new device, selects it, and returns the device for the communicator. */
export async function setupTfjsWebgpu(options: TfjsWebgpuOptions = {}): Promise<GPUDevice> {
  const device = options.device ?? await createBrowserDevice(options);
  await useWebgpuBackend(device);
  return device;
}
