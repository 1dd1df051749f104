// Node-only: a GPUDevice from Dawn through the `webgpu` package.
import { create, globals } from 'webgpu';
import { requestGpuDevice, type DeviceOptions } from './device.js';

// Dawn's GPU object must stay referenced for the life of the process: if it is collected
// while devices are alive the process crashes. Module scope keeps it.
let dawn: GPU | undefined;

export function nodeGpu(): GPU {
  if (!dawn) {
    // The WebGPU constants (GPUBufferUsage, GPUShaderStage, ...) are globals in browsers.
    for (const [name, value] of Object.entries(globals)) {
      if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
    }
    dawn = create([]);
  }
  return dawn;
}

export function createNodeDevice(options: DeviceOptions = {}): Promise<GPUDevice> {
  return requestGpuDevice(nodeGpu(), options);
}
