// Node-only: a GPUDevice from Dawn through the `webgpu` package. That package is an optional
// dependency (about 132 MB of Dawn builds for every platform): it is imported on the first call
// here, never at import time, so `import 'webccl'` works without it (`npm install
// --omit=optional`, or a platform Dawn does not support) for TypedArray-only use.
import { systemError } from '../errors.js';
import { requestGpuDevice, type DeviceOptions } from './device.js';

type WebGpuModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };

// Dawn's GPU object must stay referenced for the life of the process: if it is collected
// while devices are alive the process crashes. Module scope keeps it.
let dawn: Promise<GPU> | undefined;

// Said to package users, who have none of this repository's scripts.
const NO_ADAPTER_HINT = 'Dawn needs a Vulkan driver on Linux, a GPU vendor\'s or Mesa\'s lavapipe on the CPU '
  + '(package mesa-vulkan-drivers; Mesa 22 is too old, 25 works); Metal on macOS; Direct3D 12 on Windows';

async function loadDawn(): Promise<GPU> {
  let module: WebGpuModule;
  try {
    // Through a variable, so that bundlers leave the optional package alone.
    const name = 'webgpu';
    module = await import(name) as WebGpuModule;
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && /'webgpu'/.test(String((error as Error).message));
    throw systemError(missing
      ? "WebGPU in Node needs the optional dependency 'webgpu' (Dawn), which is not installed: install it (npm install webgpu), "
        + 'or pass a GPUDevice of your own, or use TypedArray buffers without a device'
      : `loading Dawn (the 'webgpu' package) failed: ${(error as Error).message}`, error);
  }
  // The WebGPU constants (GPUBufferUsage, GPUShaderStage, ...) are globals in browsers.
  for (const [name, value] of Object.entries(module.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  return module.create([]);
}

/** Dawn's GPU object, loaded on first use; rejects with a SystemError saying why when Dawn is unavailable. */
export function nodeGpu(): Promise<GPU> {
  dawn ??= loadDawn();
  return dawn;
}

export async function createNodeDevice(options: DeviceOptions = {}): Promise<GPUDevice> {
  return requestGpuDevice(await nodeGpu(), options, NO_ADAPTER_HINT);
}
