// Shared by the communicator suites: worlds of inproc ranks, inputs whose reductions are
// exact in every dtype (so any order of combining gives the same bits), and the serial oracle
// (lib/cpu's n-ary reduce over every rank's input, in rank order).
import { Communicator, getUniqueId, type InitOptions } from '../../lib/comm/communicator.js';
import { f32ToBf16Bits, f32ToF16Bits } from '../../lib/cpu/half.js';
import { reduceNary } from '../../lib/cpu/reduce.js';
import { elementBytes, premulSum, type DataType, type ElementArray, type ReduceOp } from '../../lib/dtype.js';
import type { TransportSetting } from '../../lib/settings.js';

export const DTYPES: readonly DataType[] = ['float32', 'float16', 'bfloat16', 'int32', 'uint32'];

export function opsFor(dtype: DataType): ReduceOp[] {
  const scalar = dtype === 'int32' || dtype === 'uint32' ? 3 : 0.5;
  return ['sum', 'prod', 'min', 'max', 'avg', premulSum(scalar)];
}

export function opLabel(op: ReduceOp): string {
  return typeof op === 'string' ? op : `premulSum(${op.premulSum})`;
}

export type WorldOptions = Partial<Omit<InitOptions, 'rank' | 'size' | 'id'>>;

/** `size` communicators in this process, on the inproc transport or over real websocket or tcp connections. */
export async function createWorld(size: number, options: WorldOptions = {}, transport: TransportSetting = 'inproc'): Promise<Communicator[]> {
  const id = await getUniqueId({ transport });
  return Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ ...options, id, rank, size })));
}

export async function destroyWorld(comms: readonly Communicator[]): Promise<void> {
  await Promise.all(comms.map((comm) => comm.destroy()));
}

export function allocate(dtype: DataType, count: number): ElementArray {
  switch (dtype) {
    case 'float32': return new Float32Array(count);
    case 'int32': return new Int32Array(count);
    case 'uint32': return new Uint32Array(count);
    default: return new Uint16Array(count);
  }
}

/** A small deterministic generator (xorshift32), so failures reproduce. */
function generator(seed: number): () => number {
  let state = (seed * 2654435761) >>> 0 || 1;
  return () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
}

/**
 * Rank `rank`'s input. Floats are small integers (sums of up to 8 stay exact even in bf16) or,
 * for prod, ±1, ±2 and 0.5 (products are powers of two); integers use the full range, where
 * wrapping arithmetic is exact anyway.
 */
export function inputFor(dtype: DataType, op: ReduceOp, rank: number, count: number, seed = 1): ElementArray {
  const next = generator(seed * 1009 + rank * 7919 + count);
  const out = allocate(dtype, count);
  const prod = op === 'prod';
  for (let i = 0; i < count; i++) {
    const r = next();
    if (dtype === 'int32' || dtype === 'uint32') {
      out[i] = dtype === 'int32' ? r | 0 : r;
      continue;
    }
    const value = prod ? [1, -1, 2, -2, 0.5][r % 5]! : (r % 17) - 8;
    out[i] = dtype === 'float32' ? value : dtype === 'float16' ? f32ToF16Bits(value) : f32ToBf16Bits(value);
  }
  return out;
}

/** The reduction of every rank's input, computed serially. */
export function oracleReduce(inputs: readonly ElementArray[], count: number, dtype: DataType, op: ReduceOp): ElementArray {
  const out = allocate(dtype, count);
  reduceNary(out, inputs, count, dtype, op);
  return out;
}

/** Byte equality, reporting the first differing element. */
export function sameElements(actual: ElementArray, expected: ElementArray, label: string): void {
  const a = new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength);
  const e = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.byteLength !== e.byteLength) throw new Error(`${label}: ${a.byteLength} bytes, expected ${e.byteLength}`);
  for (let i = 0; i < a.byteLength; i++) {
    if (a[i] !== e[i]) {
      const element = Math.floor(i / actual.BYTES_PER_ELEMENT);
      throw new Error(`${label}: element ${element} is ${actual[element]}, expected ${expected[element]}`);
    }
  }
}

export function copyOf(array: ElementArray): ElementArray {
  return array.slice();
}

export function elementCount(array: ElementArray): number {
  return array.byteLength / array.BYTES_PER_ELEMENT;
}

export { elementBytes };
