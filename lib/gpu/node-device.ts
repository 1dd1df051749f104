// Node-only: a GPUDevice from Dawn through the `webgpu` package.
import { create, globals } from 'webgpu';
import { requestGpuDevice, type DeviceOptions } from './device.js';

/**
 * Dawn's flag that turns off timestamp quantization: without it Dawn rounds timestamp queries
 * to 65.536 us (a browser's defence against timing attacks), which makes every kernel time on
 * a fast GPU a multiple of 65.5 us. The kernel benchmark creates its device with it.
 */
export const PRECISE_TIMESTAMPS_FLAG = 'disable-dawn-features=timestamp_quantization';

export interface NodeDeviceOptions extends DeviceOptions {
  /** Options for the `webgpu` package's create() (Dawn toggles such as PRECISE_TIMESTAMPS_FLAG, `backend=...`). */
  readonly dawnFlags?: readonly string[];
}

// Dawn's GPU object must stay referenced for the life of the process: if it is collected
// while devices are alive the process crashes. Module scope keeps every one made (one per
// distinct set of flags; almost always just the default).
const dawns = new Map<string, GPU>();

export function nodeGpu(flags: readonly string[] = []): GPU {
  // The WebGPU constants (GPUBufferUsage, GPUShaderStage, ...) are globals in browsers.
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  const key = flags.join('\n');
  let dawn = dawns.get(key);
  if (!dawn) dawns.set(key, (dawn = create([...flags])));
  return dawn;
}

export function createNodeDevice(options: NodeDeviceOptions = {}): Promise<GPUDevice> {
  return requestGpuDevice(nodeGpu(options.dawnFlags), options);
}
