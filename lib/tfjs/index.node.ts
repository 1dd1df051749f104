// webccl/tfjs in Node: TensorFlow.js helpers for data-parallel training (see api.ts), plus the
// setup of TF.js's webgpu backend on Dawn (the `webgpu` package). Not imported by webccl's own
// entries: TF.js stays an optional peer dependency. The bundle (build.mjs) imports the core
// from 'webccl' itself, so classes (Communicator, WebcclError) are the same objects.
import { createNodeDevice, nodeGpu, type NodeDeviceOptions } from '../index.node.js';
import { useWebgpuBackend } from './backend.js';

export * from './api.js';

export interface TfjsWebgpuOptions extends NodeDeviceOptions {
  /** The device to run TF.js on (the communicator's); default: a new one from createNodeDevice(). */
  readonly device?: GPUDevice;
}

/**
 * Runs TF.js's webgpu backend on Dawn: provides navigator.gpu (Node has none), registers the
 * backend on `options.device` or a new device, selects it, and returns the device to give to
 * Communicator.init/fromEnv. Without a WebGPU adapter it rejects with SystemError; TF.js's cpu
 * backend (the default in Node) then still works with every helper, through host memory.
 */
export async function setupTfjsWebgpu(options: TfjsWebgpuOptions = {}): Promise<GPUDevice> {
  const gpu = nodeGpu(options.dawnFlags);
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  const device = options.device ?? await createNodeDevice(options);
  await useWebgpuBackend(device);
  return device;
}
