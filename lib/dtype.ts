// Element types and reduction operators: the vocabulary shared by kernels, collectives and
// the API. Names follow NCCL's ncclDataType_t / ncclRedOp_t, spelled as strings.

export type DataType = 'float32' | 'float16' | 'bfloat16' | 'int32' | 'uint32';

export const DATA_TYPES: readonly DataType[] = ['float32', 'float16', 'bfloat16', 'int32', 'uint32'];

const ELEMENT_BYTES: Record<DataType, number> = { float32: 4, float16: 2, bfloat16: 2, int32: 4, uint32: 4 };

export function elementBytes(dtype: DataType): number {
  return ELEMENT_BYTES[dtype];
}

export function isDataType(value: unknown): value is DataType {
  return typeof value === 'string' && Object.hasOwn(ELEMENT_BYTES, value);
}

export function isFloat(dtype: DataType): dtype is 'float32' | 'float16' | 'bfloat16' {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16';
}

/** A scaled sum: every rank's input is multiplied by `scalar` before summing (ncclRedOpCreatePreMulSum). */
export interface PremulSum {
  readonly premulSum: number;
}

export type SimpleOp = 'sum' | 'prod' | 'min' | 'max' | 'avg';
export type ReduceOp = SimpleOp | PremulSum;
export type ReduceOpName = SimpleOp | 'premulSum';

export const SIMPLE_OPS: readonly SimpleOp[] = ['sum', 'prod', 'min', 'max', 'avg'];

export function premulSum(scalar: number): PremulSum {
  return { premulSum: scalar };
}

export function opName(op: ReduceOp): ReduceOpName {
  return typeof op === 'string' ? op : 'premulSum';
}

export function isReduceOp(value: unknown): value is ReduceOp {
  if (typeof value === 'string') return (SIMPLE_OPS as readonly string[]).includes(value);
  return typeof value === 'object' && value !== null && typeof (value as PremulSum).premulSum === 'number'
    && Number.isFinite((value as PremulSum).premulSum);
}

/** The TypedArray that holds a dtype's elements (16-bit floats are held as their raw bits). */
export type ElementArray = Float32Array | Int32Array | Uint32Array | Uint16Array;
