// The lists of tensors the TF.js helpers take (a NamedTensorMap as tf.variableGrads returns, an
// array of tensors or variables, or {name, tensor} pairs as Optimizer.applyGradients takes), made
// into one ordered list of named entries, and the local checks each rank runs on it before
// anything is exchanged.
import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';

/** As Optimizer.applyGradients takes them (tfjs-core does not export the type from its entry). */
export interface NamedTensor {
  readonly name: string;
  readonly tensor: Tensor;
}

export type TensorList = NamedTensorMap | readonly Tensor[] | readonly NamedTensor[];

export interface Entry {
  /** The map key, the {name} given, a variable's name, or `#i` for an unnamed tensor. */
  readonly name: string;
  readonly tensor: Tensor;
}

function isNamedTensor(item: Tensor | NamedTensor): item is NamedTensor {
  return 'tensor' in item && 'name' in item;
}

export function entriesOf(list: TensorList): Entry[] {
  if (!Array.isArray(list)) return Object.entries(list as NamedTensorMap).map(([name, tensor]) => ({ name, tensor }));
  return (list as readonly (Tensor | NamedTensor)[]).map((item, i) => {
    if (isNamedTensor(item)) return { name: item.name, tensor: item.tensor };
    const name = (item as Tensor & { name?: unknown }).name;
    return { name: typeof name === 'string' ? name : `#${i}`, tensor: item };
  });
}

/** What a rank found wrong with its own list: a code the other ranks can print, and its own words. */
export interface LocalProblem {
  readonly code: number;
  readonly index: number;
  readonly message: string;
}

/** Problem codes, as exchanged between ranks (0: none). */
export const PROBLEM = { notATensor: 1, disposed: 2, notFloat: 3 } as const;

export function describeProblem(code: number, index: number): string {
  switch (code) {
    case PROBLEM.notATensor: return `entry #${index} is not a tensor`;
    case PROBLEM.disposed: return `tensor #${index} is disposed`;
    case PROBLEM.notFloat: return `tensor #${index} is not float32`;
    default: return `unknown problem ${code} at #${index}`;
  }
}

/** The first entry that cannot be reduced (a disposed or non-float32 tensor), or null. */
export function findProblem(entries: readonly Entry[]): LocalProblem | null {
  for (const [index, { name, tensor }] of entries.entries()) {
    if (tensor === null || typeof tensor !== 'object' || !('dtype' in tensor) || !('shape' in tensor)) {
      return { code: PROBLEM.notATensor, index, message: `'${name}' (#${index}) is not a tensor` };
    }
    if (tensor.isDisposed) return { code: PROBLEM.disposed, index, message: `'${name}' (#${index}) is disposed` };
    if (tensor.dtype !== 'float32') {
      return { code: PROBLEM.notFloat, index, message: `'${name}' (#${index}) is ${tensor.dtype}; only float32 tensors can be reduced` };
    }
  }
  return null;
}
