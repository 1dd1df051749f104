// Shared by the webccl/tfjs suites: TF.js on its cpu backend (or webgpu where a suite sets it
// up), per-rank tensors of known values, and a spy that counts a communicator's data calls.
import * as tf from '@tensorflow/tfjs';
import * as assert from 'uvu/assert';
import type { Communicator } from '../../lib/comm/communicator.js';
import { WebcclError } from '../../lib/errors.js';
import { compressionInput } from './compression-checks.js';

export { tf };

export const SHAPES: readonly (readonly number[])[] = [[3, 5], [5], [7, 2, 3], [1], [300]];

/**
 * Rank r's tensors for the given shapes: values in (-4, 4), distinct per rank and tensor;
 * `exact`: multiples of 2^-10, so float32 sums of a few ranks are exact in any order.
 */
export function rankTensors(rank: number, shapes: readonly (readonly number[])[] = SHAPES, step = 1, exact = false): tf.Tensor[] {
  return shapes.map((shape, i) => {
    const data = compressionInput(rank, shape.reduce((a, b) => a * b, 1), step * 31 + i);
    if (exact) data.forEach((v, j) => { data[j] = Math.round(v * 1024) / 1024; });
    return tf.tensor(data, [...shape], 'float32');
  });
}

/** As a NamedTensorMap with the given names (`g0`, `g1`, ... by default). */
export function named(tensors: readonly tf.Tensor[], names: readonly string[] = tensors.map((_, i) => `g${i}`)): tf.NamedTensorMap {
  return Object.fromEntries(tensors.map((t, i) => [names[i]!, t]));
}

/** Counts the communicator's allReduce/broadcast/allGather calls and what memory they ran on. */
export function spy(comm: Communicator): { calls: string[] } {
  const calls: string[] = [];
  for (const name of ['allReduce', 'broadcast', 'allGather'] as const) {
    const original = comm[name].bind(comm) as (...args: unknown[]) => Promise<void>;
    (comm as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls.push(`${name}:${args[0] instanceof Float32Array || args[0] instanceof Uint32Array ? 'host' : 'gpu'}:${String(args[2])}`);
      return original(...args);
    };
  }
  return { calls };
}

/** Every rank's promise rejects with a WebcclError of the given code (per rank) whose message matches. */
export async function rejectsOnEveryRank(runs: readonly Promise<unknown>[], codes: readonly string[], pattern: RegExp): Promise<void> {
  const results = await Promise.allSettled(runs);
  results.forEach((result, rank) => {
    assert.is(result.status, 'rejected', `rank ${rank} resolved`);
    const error = (result as PromiseRejectedResult).reason as WebcclError;
    assert.instance(error, WebcclError, `rank ${rank}: ${String(error)}`);
    assert.is(error.code, codes[rank], `rank ${rank}: ${error.message}`);
    assert.match(error.message, pattern, `rank ${rank}`);
  });
}

export async function values(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(tensors.map(async (t) => Float32Array.from(await t.data() as Float32Array)));
}
