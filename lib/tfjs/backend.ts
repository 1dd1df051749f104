// One GPUDevice for TF.js and the communicator: TF.js's webgpu backend registered on the
// device the communicator uses, so gradients go from TF.js's buffers to the allreduce and back
// without leaving the GPU. Platform-neutral; the entries (index.node.ts, index.browser.ts) make
// the device and provide navigator.gpu where the platform has none.
import * as tf from '@tensorflow/tfjs-core';
import { systemError } from '../index.core.js';

/** The name TF.js's webgpu kernels are registered under: the backend must carry it. */
const WEBGPU = 'webgpu';

/**
 * Registers TF.js's webgpu backend on `device` and makes it the current backend. Call it before
 * creating tensors: if TF.js already runs a webgpu backend of its own device, that one is
 * removed (its tensors are lost). Needs `@tensorflow/tfjs-backend-webgpu` and a navigator.gpu
 * (the backend refuses to start without one; the Node entry provides Dawn's).
 */
export async function useWebgpuBackend(device: GPUDevice): Promise<void> {
  if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
    throw systemError('webccl/tfjs: navigator.gpu is missing (TF.js\'s webgpu backend requires it; in Node use the webccl/tfjs Node entry\'s setupTfjsWebgpu)');
  }
  let module: { WebGPUBackend: new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => tf.KernelBackend };
  try {
    module = await import('@tensorflow/tfjs-backend-webgpu') as unknown as typeof module;
  } catch (error) {
    throw systemError('webccl/tfjs: @tensorflow/tfjs-backend-webgpu could not be loaded (npm install @tensorflow/tfjs-backend-webgpu)', error);
  }
  // Importing the package registers a 'webgpu' factory that makes a device of its own: replace it.
  if (tf.findBackendFactory(WEBGPU)) tf.removeBackend(WEBGPU);
  const adapterInfo = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  tf.registerBackend(WEBGPU, () => new module.WebGPUBackend(device, adapterInfo), 3);
  if (!(await tf.setBackend(WEBGPU))) throw systemError('webccl/tfjs: TF.js could not start its webgpu backend on the given device');
}

export { sharesDevice, tfjsDevice } from './staging.js';
