// WebGPU reports a command it refuses (a destroyed buffer, a buffer of another device, memory
// exhausted) not by throwing but through error scopes: without one the error only reaches the
// console, and whatever the command should have produced (a copy into a staging buffer that is
// then mapped and sent) silently holds old bytes. Every submission whose result matters goes
// through here.

/**
 * Runs `action` (which records and submits GPU work, synchronously) inside validation and
 * out-of-memory scopes; resolves with the first error they caught, or null. The scopes are
 * popped even if `action` throws, so the device's scope stack stays balanced.
 */
export function captureErrors(device: GPUDevice, action: () => void): Promise<GPUError | null> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let validation: Promise<GPUError | null>;
  let memory: Promise<GPUError | null>;
  try {
    action();
  } finally {
    validation = device.popErrorScope();
    memory = device.popErrorScope();
  }
  return Promise.all([validation, memory]).then(([v, m]) => v ?? m);
}

/** The first line of a GPU error message (Dawn appends a trace of the calls that led to it). */
export function gpuErrorSummary(error: GPUError): string {
  return error.message.split('\n')[0]!.trim();
}
