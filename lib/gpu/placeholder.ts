// A tiny storage buffer bound to kernel slots a call does not use: a pipeline's bind group must
// fill every binding its shader declares, and binding a real region there could conflict with a
// writable binding of the same buffer. One per device, never written.
const placeholders = new WeakMap<GPUDevice, GPUBufferBinding>();

export function placeholderBinding(device: GPUDevice): GPUBufferBinding {
  let binding = placeholders.get(device);
  if (!binding) {
    binding = { buffer: device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'webccl placeholder' }) };
    placeholders.set(device, binding);
  }
  return binding;
}
