// Moves one bucket through a collective. The bucket is packed by TF.js itself (one concat of the
// flattened tensors), then:
// - on the webgpu backend, when it runs on the communicator's GPUDevice: the packed tensor's
//   GPUBuffer (dataToGPU) is handed to the collective in place and the result is wrapped back
//   into a tensor (tf.tensor({ buffer })): the bytes never leave the GPU;
// - otherwise (the cpu backend, or a communicator without a device): the packed values are
//   downloaded into a Float32Array, reduced there, and become a tensor again.
// The caller splits the flat result into its tensors.
import * as tf from '@tensorflow/tfjs-core';
import type { Communicator, CommBuffer } from '../index.core.js';

/** The webgpu backend's GPUDevice when TF.js runs on webgpu, else undefined. */
export function tfjsDevice(): GPUDevice | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  return (tf.backend() as unknown as { device?: GPUDevice }).device;
}

/** Whether buckets can stay on the GPU: TF.js and the communicator share one GPUDevice. */
export function sharesDevice(comm: Communicator): boolean {
  return comm.device !== undefined && tfjsDevice() === comm.device;
}

/** Runs `fn` with the webgpu backend's CPU forwarding off, so small CPU-resident inputs are uploaded and computed on the GPU. */
function onGpu<T>(fn: () => T): T {
  const env = tf.env();
  const flag = 'WEBGPU_CPU_FORWARD';
  const was = env.getBool(flag);
  env.set(flag, false);
  try {
    return fn();
  } finally {
    env.set(flag, was);
  }
}

function pack(tensors: readonly tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1]))));
}

/** The packed bucket as a buffer TF.js hands over (a copy it owns until tensorRef is disposed). */
function packOnGpu(tensors: readonly tf.Tensor[]): tf.GPUData {
  const flat = onGpu(() => pack(tensors));
  try {
    return flat.dataToGPU();
  } catch {
    // A one-tensor bucket whose tensor still lives on the CPU (concat of one is an identity):
    // one GPU kernel makes a GPU-resident copy (x * 1 keeps -0 and every bit).
    const uploaded = onGpu(() => tf.mul(flat, 1));
    try {
      return uploaded.dataToGPU();
    } finally {
      uploaded.dispose();
    }
  } finally {
    flat.dispose();
  }
}

/**
 * Keeps collective calls in the order their buckets were started, though a bucket's download
 * (host path) may finish out of order: every rank must issue the same calls in the same order.
 */
export class InOrder {
  private last: Promise<void> = Promise.resolve();

  /** Called synchronously when a bucket starts: `ready` resolves when the previous bucket has issued its call. */
  take(): { readonly ready: Promise<void>; readonly issued: () => void } {
    const ready = this.last;
    let issued!: () => void;
    this.last = new Promise<void>((resolve) => { issued = resolve; });
    return { ready, issued };
  }
}

/**
 * Packs `tensors` (float32, already checked), runs `collective` on the packed bucket in place
 * when its turn comes, and returns the result as one flat tensor of `count` elements (the
 * caller's to dispose).
 */
export async function throughCollective(
  comm: Communicator, tensors: readonly tf.Tensor[], count: number, order: InOrder,
  collective: (buffer: CommBuffer) => Promise<void>,
): Promise<tf.Tensor1D> {
  const turn = order.take();
  const issue = async (buffer: CommBuffer): Promise<void> => {
    await turn.ready;
    let call: Promise<void>;
    try {
      call = collective(buffer);
    } finally {
      turn.issued();
    }
    await call;
  };
  if (count === 0) {
    await issue(new Float32Array(0));
    return tf.zeros([0], 'float32');
  }
  if (sharesDevice(comm)) {
    let gpu: tf.GPUData;
    try {
      gpu = packOnGpu(tensors);
    } catch (error) {
      turn.issued();
      throw error;
    }
    try {
      await issue(gpu.buffer!);
      return tf.tensor({ buffer: gpu.buffer! }, [count], 'float32') as tf.Tensor1D;
    } finally {
      gpu.tensorRef.dispose();
    }
  }
  const host = new Float32Array(count);
  try {
    const flat = pack(tensors);
    try {
      host.set(await flat.data() as Float32Array);
    } finally {
      flat.dispose();
    }
  } catch (error) {
    turn.issued();
    throw error;
  }
  await issue(host);
  return tf.tensor1d(host, 'float32');
}
