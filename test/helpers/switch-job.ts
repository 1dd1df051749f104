// Starts n switch workers of one job against a switch, and the oracles their results are checked against.
import '../../lib/switch/udp-link.js'; // workers reach the switch by UDP
import { SwitchWorker, type SwitchWorkerOptions } from '../../lib/switch/worker.js';
import type { SwitchServer } from '../../lib/switch/switch-server.js';
import { switchmlSumViolation } from '../../lib/cpu/switchml-bound.js';
import { sizeClassOfValues } from '../../lib/switch/packet-size.js';
import { within } from '../within.js';

let worlds = 0;

export async function joinJob(
  server: SwitchServer, size: number, extra: Partial<SwitchWorkerOptions> | ((rank: number) => Partial<SwitchWorkerOptions>) = {},
): Promise<SwitchWorker[]> {
  const world = `job-${process.pid}-${worlds++}`;
  // Workers of a native-plane switch use the addon's batched socket, those of a TypeScript-plane
  // switch Node's dgram, so that each suite run on both planes covers both worker sockets.
  const udpSocket = server.dataPlane === 'native' ? 'native' as const : 'dgram' as const;
  const options = (rank: number) => ({ switch: server.address, secret: server.secret, world, rank, size, timeoutMs: 10_000, udpSocket, ...(typeof extra === 'function' ? extra(rank) : extra) });
  return within(Promise.all(Array.from({ length: size }, (_, rank) => SwitchWorker.connect(options(rank)))), 15_000, `${size} workers joining`);
}

/** The float32 sums of `inputs` through raw workers at `values` a packet: SwitchML's own scheme (exponents one window ahead inside the stream), the oracle of the communicator's float path. */
export async function inStreamSums(server: SwitchServer, inputs: readonly Float32Array[], values: number): Promise<Float32Array[]> {
  const workers = await joinJob(server, inputs.length, { sizeClass: sizeClassOfValues(values)! });
  try {
    return await within(Promise.all(workers.map((worker, r) => worker.allReduce(inputs[r]!.slice(), 'sum'))), 60_000, 'raw workers');
  } finally {
    for (const worker of workers) worker.close();
  }
}

/** A deterministic pseudo-random generator (xorshift32). */
export function generator(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
}

export function randomInt32(count: number, seed: number): Int32Array {
  const next = generator(seed);
  return Int32Array.from({ length: count }, () => next() | 0);
}

/** Floats of mixed sign and magnitude (2^-20 to 2^20), with some zeros. */
export function randomFloat32(count: number, seed: number): Float32Array {
  const next = generator(seed);
  return Float32Array.from({ length: count }, () => {
    const r = next();
    if (r % 17 === 0) return 0;
    return ((r & 1) ? -1 : 1) * (next() / 2 ** 32) * 2 ** ((r >>> 8) % 41 - 20);
  });
}

export function int32Sum(inputs: Int32Array[]): Int32Array {
  const out = new Int32Array(inputs[0]!.length);
  for (const input of inputs) for (let i = 0; i < out.length; i++) out[i] = (out[i]! + input[i]!) | 0;
  return out;
}

/** Every element of a float32 switch sum against the float64 sum, within the codec's bound (lib/cpu/switchml-bound.ts; blocks are half packets). */
export function float32Violation(inputs: Float32Array[], result: Float32Array, valuesPerPacket: number, divisor = 1): string | undefined {
  return switchmlSumViolation(inputs, result, valuesPerPacket / 2, divisor);
}

/** The values a switch packet carries in a communicator's job (agreed at init; the float32 bound's block is half of it). */
export function agreedPacketValues(comm: { readonly config: { readonly switchPacketValues?: number | 'auto' } }): number {
  const values = comm.config.switchPacketValues;
  if (typeof values !== 'number') throw new Error(`the communicator agreed no switch packet values (${String(values)})`);
  return values;
}
