// The per-value work of a SwitchML worker (lib/switch/allreduce-stream.ts): the SwitchML codec of
// switchml.ts applied straight to a packet's value area (big-endian int32, lib/switch/packet.ts).
// Two implementations with the same bits: the TypeScript one below (the oracle, and the fallback
// everywhere: browsers, no addon) and the addon's loops (lib/native/switchml-codec.ts), which
// the Node side registers (useNativeSwitchmlPackets; lib/switch/stream-codec.ts picks one per
// worker, CPU memory's switchml steps take the installed one). Arrays are passed whole with a
// start index, so that a packet costs no subarray on the native path.
import { invalidArgument } from '../errors.js';
import { blockCount } from './blocks.js';
import { switchmlBlockExponents, switchmlDequantize, switchmlQuantize } from './switchml.js';

export interface SwitchmlPacketCodec {
  /** 'typescript' or 'native(<variant>)'. */
  readonly name: string;
  /** out[outStart + b] = the exponent of block b of x[start, start + count) (switchmlBlockExponents). */
  blockExponents(x: Float32Array, start: number, count: number, blockSize: number, out: Int32Array, outStart: number): void;
  /**
   * x[start, start + count) quantized with exponents[exponentStart + floor(i / blockSize)] for
   * `workers` workers (switchmlQuantize), written big-endian (little-endian when asked: a host
   * Int32Array's bytes) at packet[byteOffset + 4i].
   */
  quantize(x: Float32Array, start: number, count: number, blockSize: number, exponents: Int32Array, exponentStart: number, workers: number, packet: DataView, byteOffset: number, littleEndian?: boolean): void;
  /** x[start, start + count) big-endian at packet[byteOffset + 4i]. */
  int32ToBigEndian(x: Int32Array, start: number, count: number, packet: DataView, byteOffset: number): void;
  /**
   * out[outStart + i] = the big-endian (or little-endian) sum at packet[byteOffset + 4i]
   * dequantized (switchmlDequantize), then divided by `divisor` (Math.fround(y / divisor); 1 for
   * sum, the worker count for avg).
   */
  dequantize(packet: DataView, byteOffset: number, count: number, blockSize: number, exponents: Int32Array, exponentStart: number, workers: number, divisor: number, out: Float32Array, outStart: number, littleEndian?: boolean): void;
  /** out[outStart + i] = Math.trunc(the big-endian int32 at packet[byteOffset + 4i] / divisor). */
  int32FromBigEndian(packet: DataView, byteOffset: number, count: number, divisor: number, out: Int32Array, outStart: number): void;
}

/** One scratch array for the whole process (calls never overlap: JS is single-threaded). */
let scratch = new Int32Array(0);

function scratchOf(count: number): Int32Array {
  if (scratch.length < count) scratch = new Int32Array(count);
  return scratch.subarray(0, count);
}

/** [start, start + count) inside an array of `length` (subarray would clamp silently). */
function checkRange(what: string, length: number, start: number, count: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > length) {
    throw invalidArgument(`${what}: ${start} + ${count} is not inside its ${length}`);
  }
}

function checkDivisor(what: string, divisor: number): void {
  if (!Number.isInteger(divisor) || divisor < 1 || divisor > 2 ** 31 - 1) throw invalidArgument(`${what}: divisor ${divisor} is not an integer in [1, 2^31-1]`);
}

export const TYPESCRIPT_SWITCHML_PACKETS: SwitchmlPacketCodec = {
  name: 'typescript',
  blockExponents(x, start, count, blockSize, out, outStart) {
    checkRange('switchml packets: x', x.length, start, count);
    const blocks = blockCount(count, blockSize);
    checkRange('switchml packets: out', out.length, outStart, blocks);
    switchmlBlockExponents(x.subarray(start, start + count), count, blockSize, out.subarray(outStart, outStart + blocks));
  },
  quantize(x, start, count, blockSize, exponents, exponentStart, workers, packet, byteOffset, littleEndian = false) {
    checkRange('switchml packets: x', x.length, start, count);
    const blocks = blockCount(count, blockSize);
    checkRange('switchml packets: exponents', exponents.length, exponentStart, blocks);
    checkRange('switchml packets: packet bytes', packet.byteLength, byteOffset, 4 * count);
    const q = switchmlQuantize(x.subarray(start, start + count), exponents.subarray(exponentStart, exponentStart + blocks), count, blockSize, workers, scratchOf(count));
    for (let i = 0, at = byteOffset; i < count; i++, at += 4) packet.setInt32(at, q[i]!, littleEndian);
  },
  int32ToBigEndian(x, start, count, packet, byteOffset) {
    checkRange('switchml packets: x', x.length, start, count);
    checkRange('switchml packets: packet bytes', packet.byteLength, byteOffset, 4 * count);
    for (let i = start, at = byteOffset; i < start + count; i++, at += 4) packet.setInt32(at, x[i]!);
  },
  dequantize(packet, byteOffset, count, blockSize, exponents, exponentStart, workers, divisor, out, outStart, littleEndian = false) {
    checkDivisor('switchml packets', divisor);
    checkRange('switchml packets: out', out.length, outStart, count);
    checkRange('switchml packets: packet bytes', packet.byteLength, byteOffset, 4 * count);
    const blocks = blockCount(count, blockSize);
    checkRange('switchml packets: exponents', exponents.length, exponentStart, blocks);
    const sums = scratchOf(count);
    for (let i = 0, at = byteOffset; i < count; i++, at += 4) sums[i] = packet.getInt32(at, littleEndian);
    const y = out.subarray(outStart, outStart + count);
    switchmlDequantize(sums, exponents.subarray(exponentStart, exponentStart + blocks), count, blockSize, workers, y);
    if (divisor !== 1) for (let i = 0; i < count; i++) y[i] = Math.fround(y[i]! / divisor);
  },
  int32FromBigEndian(packet, byteOffset, count, divisor, out, outStart) {
    checkDivisor('switchml packets', divisor);
    checkRange('switchml packets: out', out.length, outStart, count);
    checkRange('switchml packets: packet bytes', packet.byteLength, byteOffset, 4 * count);
    const end = outStart + count;
    if (divisor === 1) for (let i = outStart, at = byteOffset; i < end; i++, at += 4) out[i] = packet.getInt32(at);
    else for (let i = outStart, at = byteOffset; i < end; i++, at += 4) out[i] = Math.trunc(packet.getInt32(at) / divisor);
  },
};

/** The native codec, or why there is none (the addon is missing or predates it). */
export type NativeSwitchmlSource = () => SwitchmlPacketCodec | { readonly unavailable: string };

let nativeSource: NativeSwitchmlSource | undefined;

/** Node only (lib/switch/native-stream-codec.ts): where the addon's codec comes from, asked lazily. */
export function useNativeSwitchmlPackets(source: NativeSwitchmlSource | undefined): void {
  nativeSource = source;
}

/** The addon's codec when one is registered and loads, else why not. */
export function nativeSwitchmlPacketsOrReason(): SwitchmlPacketCodec | { readonly unavailable: string } {
  return nativeSource?.() ?? { unavailable: 'not registered (Node only: lib/switch/native-stream-codec.ts, which the Node entry loads)' };
}

/** What CPU memory and 'auto' workers use: the native codec when there is one, else TypeScript. */
export function installedSwitchmlPackets(): SwitchmlPacketCodec {
  const found = nativeSwitchmlPacketsOrReason();
  return 'unavailable' in found ? TYPESCRIPT_SWITCHML_PACKETS : found;
}
