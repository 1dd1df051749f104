// broadcastVariables: makes every rank's variables equal to the root's, as a data-parallel job
// does once before its first step (and after restoring a checkpoint on one rank). Same checks
// and buckets as allReduceGradients; the values are assigned in place.
import * as tf from '@tensorflow/tfjs-core';
import { invalidArgument, type Communicator } from '../index.core.js';
import { agreeOnEntries } from './agreement.js';
import { planBuckets } from './buckets.js';
import { bucketBytesOf, runBuckets } from './gradients.js';
import { entriesOf } from './tensors.js';

export interface BroadcastOptions {
  /** Largest bucket in bytes (default 4 MiB). */
  readonly bucketBytes?: number;
  /** Whether names take part in the cross-rank check (default true; off where ranks share one process). */
  readonly checkNames?: boolean;
}

export type VariableList = { readonly [name: string]: tf.Variable } | readonly tf.Variable[];

/** Copies the root's float32 variables into every rank's (in place, Variable.assign). */
export async function broadcastVariables(comm: Communicator, vars: VariableList, root = 0, options: BroadcastOptions = {}): Promise<void> {
  const what = 'broadcastVariables';
  if (!Number.isInteger(root) || root < 0 || root >= comm.size) throw invalidArgument(`${what}: root ${root} is not a rank of this ${comm.size}-rank communicator`);
  const bucketBytes = bucketBytesOf(what, options);
  const entries = entriesOf(vars as tf.NamedTensorMap | readonly tf.Tensor[]);
  await agreeOnEntries(comm, what, entries, { checkNames: options.checkNames ?? true, settings: { root, bucketBytes } });
  const buckets = planBuckets(entries.map((e) => e.tensor.size), bucketBytes);
  const values = await runBuckets(comm, entries, buckets, (bucket) => (buffer) => comm.broadcast(buffer, buffer, bucket.count, 'float32', root));
  entries.forEach((entry, i) => {
    (entry.tensor as tf.Variable).assign(values[i]!);
    values[i]!.dispose();
  });
}
