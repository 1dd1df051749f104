// Node-only: a GPUDevice from Dawn through the `webgpu` package. That package is an optional
// dependency (about 132 MB of Dawn builds for every platform): it is imported on the first call
// here, never at import time, so `import 'webccl'` works without it (`npm install
// --omit=optional`, or a platform Dawn does not support) for TypedArray-only use.
import { systemError } from '../errors.js';
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

type WebGpuModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };

let webgpu: Promise<WebGpuModule> | undefined;
// Dawn's GPU object must stay referenced for the life of the process: if it is collected
// while devices are alive the process crashes. Module scope keeps every one made (one per
// distinct set of flags; almost always just the default).
const dawns = new Map<string, GPU>();

// Said to package users, who have none of this repository's scripts.
const NO_ADAPTER_HINT = 'Dawn needs a Vulkan driver on Linux, a GPU vendor\'s or Mesa\'s lavapipe on the CPU '
  + '(package mesa-vulkan-drivers; Mesa 22 is too old, 25 works); Metal on macOS; Direct3D 12 on Windows';

async function loadWebGpu(): Promise<WebGpuModule> {
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
  return module;
}

/** Dawn's GPU object for `flags`, loaded on first use; rejects with a SystemError saying why when Dawn is unavailable. */
export async function nodeGpu(flags: readonly string[] = []): Promise<GPU> {
  webgpu ??= loadWebGpu();
  const module = await webgpu;
  const key = flags.join('\n');
  let dawn = dawns.get(key);
  if (!dawn) dawns.set(key, (dawn = module.create([...flags])));
  return dawn;
}

export async function createNodeDevice(options: NodeDeviceOptions = {}): Promise<GPUDevice> {
  return requestGpuDevice(await nodeGpu(options.dawnFlags), options, NO_ADAPTER_HINT);
}
