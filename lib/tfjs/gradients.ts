// allReduceGradients: the data-parallel step's exchange. Every rank checks its list and agrees
// on it with the others (agreement.ts), then the gradients travel in fused buckets (buckets.ts),
// each one allReduce call, staged on the GPU when TF.js and the communicator share a device
// (staging.ts). Returns new tensors in the caller's structure; the inputs are left alone.
import * as tf from '@tensorflow/tfjs-core';
import type { CommBuffer, Communicator } from '../index.core.js';
import { agreeOnEntries } from './agreement.js';
import { DEFAULT_BUCKET_BYTES, planBuckets, type Bucket } from './buckets.js';
import { InOrder, throughCollective } from './staging.js';
import { entriesOf, type Entry, type NamedTensor, type TensorList } from './tensors.js';
import { invalidArgument } from '../index.core.js';

export interface GradientOptions {
  /** 'avg' (default: the mean over ranks, what data parallelism wants) or 'sum'. */
  readonly op?: 'avg' | 'sum';
  /** Largest bucket in bytes (default 4 MiB); a larger tensor gets a bucket of its own. */
  readonly bucketBytes?: number;
  /** A codec name (none, bf16, fp16, int8, onebit, switchml); default: the communicator's default. */
  readonly compression?: string;
  /** The allreduce algorithm (ring, tree, auto, ...); default: the communicator's. */
  readonly algorithm?: string;
  /**
   * Error feedback key prefix (onebit): bucket i keeps its residual under `${prefix}/${i}`.
   * Without it a onebit call drops what it could not send; give one to carry it to the next step.
   */
  readonly errorFeedback?: string;
  /** Whether names take part in the cross-rank check (default true; off where ranks share one process). */
  readonly checkNames?: boolean;
}

/** The list and option checks both helpers share; throws InvalidArgument locally for bad options. */
export function bucketBytesOf(what: string, options: { readonly bucketBytes?: number }): number {
  const bytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
  if (!Number.isFinite(bytes) || bytes < 4) throw invalidArgument(`${what}: bucketBytes must be a number of at least 4 (got ${String(bytes)})`);
  return bytes;
}

/** Runs `collective` on every bucket (in order, overlapped) and returns each entry's result tensor, shaped as the input. */
export async function runBuckets(
  comm: Communicator, entries: readonly Entry[], buckets: readonly Bucket[],
  collective: (bucket: Bucket, index: number) => (buffer: CommBuffer) => Promise<void>,
): Promise<tf.Tensor[]> {
  const order = new InOrder();
  const flats = await Promise.allSettled(buckets.map((bucket, i) => throughCollective(
    comm, entries.slice(bucket.first, bucket.first + bucket.sizes.length).map((e) => e.tensor), bucket.count, order, collective(bucket, i))));
  const failed = flats.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const r of flats) if (r.status === 'fulfilled') r.value.dispose();
    throw failed.reason;
  }
  return tf.tidy(() => flats.flatMap((r, i) => {
    const flat = (r as PromiseFulfilledResult<tf.Tensor1D>).value;
    const bucket = buckets[i]!;
    const pieces = bucket.sizes.length === 1 ? [flat] : tf.split(flat, [...bucket.sizes]);
    const shaped = pieces.map((piece, j) => tf.reshape(piece, entries[bucket.first + j]!.tensor.shape));
    flat.dispose();
    return shaped;
  }));
}

/**
 * Averages (or sums) every rank's gradients: `grads` as tf.variableGrads / Optimizer.computeGradients
 * return them (a NamedTensorMap), or an array of tensors. Every rank must pass the same list
 * (names, shapes, order) and options; otherwise, or if any rank passes a disposed or non-float32
 * tensor, every rank rejects before any gradient moves.
 */
export async function allReduceGradients<T extends TensorList>(comm: Communicator, grads: T, options: GradientOptions = {}): Promise<T> {
  const what = 'allReduceGradients';
  const op = options.op ?? 'avg';
  if (op !== 'avg' && op !== 'sum') throw invalidArgument(`${what}: op must be 'avg' or 'sum' (got ${String(op)})`);
  const bucketBytes = bucketBytesOf(what, options);
  const entries = entriesOf(grads);
  await agreeOnEntries(comm, what, entries, {
    checkNames: options.checkNames ?? true,
    // errorFeedback keys are local to each rank's communicator: not part of the agreement.
    settings: { op, bucketBytes, compression: options.compression ?? null, algorithm: options.algorithm ?? null },
  });
  const buckets = planBuckets(entries.map((e) => e.tensor.size), bucketBytes);
  const reduced = await runBuckets(comm, entries, buckets, (bucket, i) => (buffer) => comm.allReduce(buffer, buffer, bucket.count, 'float32', op, {
    ...(options.compression !== undefined && { compression: options.compression }),
    ...(options.algorithm !== undefined && { algorithm: options.algorithm }),
    ...(options.errorFeedback !== undefined && { errorFeedback: `${options.errorFeedback}/${i}` }),
  }));
  return restructure(grads, entries, reduced) as T;
}

/** The results in the caller's structure: a map with the same keys, or an array in the same order. */
function restructure(list: TensorList, entries: readonly Entry[], tensors: readonly tf.Tensor[]): TensorList {
  if (!Array.isArray(list)) return Object.fromEntries(entries.map((e, i) => [e.name, tensors[i]!]));
  return (list as readonly (tf.Tensor | NamedTensor)[]).map((item, i) => ('tensor' in item && 'name' in item ? { name: item.name, tensor: tensors[i]! } : tensors[i]!)) as TensorList;
}
