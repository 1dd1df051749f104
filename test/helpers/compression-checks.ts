// Shared by the compression suites: inputs, the float64 oracle with each codec's stated bound,
// and a check that runs one compressed allReduce on every rank (host arrays or GPUBuffers) and
// asserts that every rank holds the same bits and that they are within the bound.
import * as assert from 'uvu/assert';
import type { Communicator } from '../../lib/comm/communicator.js';

/** Rank r's input: values in (-4, 4) with magnitudes spread over 2^-6 .. 2^2 (and some exact zeros). */
export function compressionInput(rank: number, count: number, seed = 1): Float32Array {
  const out = new Float32Array(count);
  let state = (seed * 2654435761 + rank * 40503 + count * 97) >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    const unit = (state / 2 ** 32) * 2 - 1;
    out[i] = i % 97 === 5 ? 0 : unit * 2 ** (2 - ((state >>> 3) % 8));
  }
  return out;
}

/**
 * The per-element bound of a compressed n-rank allreduce (sum; avg divides it by n). Every rank
 * encodes each element at most once per call (a ring's n-1 partial sums and its final segment,
 * a tree's partials, the direct exchange's inputs), so at most n encodings touch an element,
 * each of a value at most A = Σ_r |x_r| (bf16/fp16: relative 2^-8 / 2^-11, plus fp16's
 * subnormal spacing), or of a block whose largest value is at most B = max_j Σ_r |x_r[j]|
 * (int8: B/254 + 3.0000002·2^-24·B). The f32 additions add at most n·2^-23·A. switchml is
 * quantized once: n·2^emax/(2M) + 3.0000002·2^-24·|Σx| with 2^emax <= 2·B (the SwitchML bound).
 */
export function boundOf(codec: string, n: number, a: number, b: number): number {
  const rounding = n * 2 ** -23 * a;
  switch (codec) {
    case 'none': return rounding;
    case 'bf16': return n * 2 ** -8 * a + rounding;
    case 'fp16': return n * (2 ** -11 * a + 2 ** -24) + rounding;
    case 'int8': return n * (b / 254 + 3.0000002 * 2 ** -24 * b) + rounding;
    case 'switchml': return n * (2 * b) / (2 * Math.floor((2 ** 31 - 1) / n)) + 3.0000002 * 2 ** -24 * a + rounding;
    default: throw new Error(`no bound for ${codec}`);
  }
}

/** Where a rank's buffer lives: a host array, or a GPUBuffer of the communicators' device. */
export interface Placement {
  readonly label: string;
  make(values: Float32Array): unknown;
  read(buffer: unknown, count: number): Promise<Float32Array>;
  free(buffer: unknown): void;
}

export const HOST: Placement = {
  label: 'host',
  make: (values) => values.slice(),
  read: async (buffer) => (buffer as Float32Array).slice(),
  free: () => undefined,
};

export function gpuPlacement(device: GPUDevice): Placement {
  return {
    label: 'gpu',
    make(values) {
      const buffer = device.createBuffer({
        size: Math.max(4, values.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(buffer, 0, values);
      return buffer;
    },
    async read(buffer, count) {
      const staging = device.createBuffer({ size: Math.max(4, count * 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(buffer as GPUBuffer, 0, staging, 0, Math.max(4, count * 4));
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const out = new Float32Array(staging.getMappedRange().slice(0, count * 4));
      staging.destroy();
      return out;
    },
    free: (buffer) => (buffer as GPUBuffer).destroy(),
  };
}

export interface CompressedCall {
  readonly codec: string;
  readonly count: number;
  readonly op: 'sum' | 'avg';
  readonly algorithm?: string;
  readonly inPlace?: boolean;
  readonly seed?: number;
  readonly errorFeedback?: string;
}

/** Runs the call on every rank; returns every rank's result (asserted bit-identical). */
export async function runCompressed(comms: readonly Communicator[], call: CompressedCall, where: Placement = HOST, inputs?: Float32Array[]): Promise<Float32Array[]> {
  const { codec, count, op } = call;
  inputs ??= comms.map((_, r) => compressionInput(r, count, call.seed));
  const sends = inputs.map((x) => where.make(x));
  const recvs = call.inPlace === false ? inputs.map(() => where.make(new Float32Array(count))) : sends;
  try {
    const options = { compression: codec, ...(call.algorithm && { algorithm: call.algorithm }), ...(call.errorFeedback && { errorFeedback: call.errorFeedback }) };
    await Promise.all(comms.map((c, r) => c.allReduce(sends[r] as Float32Array, recvs[r] as Float32Array, count, 'float32', op, options)));
    const results = await Promise.all(recvs.map((buffer) => where.read(buffer, count)));
    const label = `${codec} ${op} ${where.label} n=${comms.length} count=${count} ${call.algorithm ?? 'auto'}`;
    for (const [r, result] of results.entries()) {
      const a = new Uint32Array(result.buffer);
      const b = new Uint32Array(results[0]!.buffer);
      for (let i = 0; i < count; i++) {
        if (a[i] !== b[i]) assert.unreachable(`${label}: rank ${r} element ${i} is ${result[i]}, rank 0 has ${results[0]![i]} (bits differ)`);
      }
    }
    return results;
  } finally {
    for (const buffer of new Set([...sends, ...recvs])) where.free(buffer);
  }
}

/** Runs the call and checks rank 0's result against the float64 oracle within the codec's bound. */
export async function checkCompressed(comms: readonly Communicator[], call: CompressedCall, where: Placement = HOST): Promise<number> {
  const n = comms.length;
  const inputs = comms.map((_, r) => compressionInput(r, call.count, call.seed));
  const [result] = await runCompressed(comms, call, where, inputs);
  let b = 0;
  for (let i = 0; i < call.count; i++) b = Math.max(b, inputs.reduce((s, x) => s + Math.abs(x[i]!), 0));
  let worst = 0;
  for (let i = 0; i < call.count; i++) {
    const exact = inputs.reduce((s, x) => s + x[i]!, 0);
    const a = inputs.reduce((s, x) => s + Math.abs(x[i]!), 0);
    const scale = call.op === 'avg' ? 1 / n : 1;
    const bound = boundOf(call.codec, n, a, b) * scale + (call.op === 'avg' ? 2 ** -24 * a / n : 0);
    const error = Math.abs(result![i]! - exact * scale);
    if (!(error <= bound)) {
      assert.unreachable(`${call.codec} ${call.op} ${where.label} n=${n} count=${call.count}: element ${i} is ${result![i]}, exact ${exact * scale}, error ${error} > bound ${bound}`);
    }
    if (b > 0) worst = Math.max(worst, error / b);
  }
  return worst;
}
