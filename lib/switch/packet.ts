// The SwitchML datagram (Sapio et al., NSDI'21; p4lang/p4app-switchML's switchml_h, exponents_h
// and data_h headers), carried as the payload of a UDP datagram to port 0xBEE0:
//
//   byte 0     msg type (high 4 bits) | exponents only (1 bit) | size class (low 3 bits)
//   byte 1     job number
//   bytes 2-5  packet id (SwitchML's "tsi"), big-endian u32
//   bytes 6-7  pool index, big-endian u16: top bit = which of the slot's two copies, low 15 bits = slot
//   byte 8, 9  two int8 exponents, one per half of the values (e0 for the first half, e1 the second)
//   then       32 << size class big-endian int32 values
//
// Size classes follow SwitchML's packet_size_t (ibv_mtu): 0 = 128 B (32 values), 1 = 256 B
// (64 values, SwitchML's UDP packet), 2 = 512 B, 3 = 1024 B (256 values, its large packet). A
// software switch has no register width to respect, so classes 4-7 (up to 4096 values, 16 KiB)
// are allowed too, negotiated per job on the control plane.
//
// Exponents only (bit 3 of byte 0, ours): the datagram is the 10-byte header alone and stands
// for the size class's values all zero. Float32 streams open with L packets that carry only
// the exponents of chunks to come (allreduce-stream.ts); at 1 MiB and 2048-value packets they
// were half the datagrams and half the bytes on the wire, all zeros. A switch that takes them
// says so in its welcome (`exponentsOnly`); a worker sends full packets to any other (as to
// SwitchML's hardware, whose parser has one size per job). The switch answers such a copy with
// an exponents-only result while no packet with values contributed to it.
//
// Message types are ours (SwitchML's UDP path leaves the field to the implementation):
// UPDATE goes worker -> switch, RESULT switch -> worker.
//
// Exponents: the CPU SwitchML codec (lib/cpu/switchml.ts) uses block exponents in [-125, 129]
// (129 flags NaN/Inf), which does not fit an int8. The wire carries e - 2, which maps [-125, 129]
// onto [-127, 127]; the shift is monotone, so the switch's max of wire exponents is the wire
// exponent of the max.
//
// Encoding rejects a header that cannot be written with InvalidArgument (a caller's bug).
// Decoding never throws: a datagram that is not a well-formed packet comes back as a reason,
// which the switch counts and drops.

import { invalidArgument } from '../errors.js';

export const SWITCH_PORT = 0xbee0;
export const HEADER_BYTES = 10;
export const MSG_UPDATE = 1;
export const MSG_RESULT = 2;
export const MIN_SIZE_CLASS = 0;
export const MAX_SIZE_CLASS = 7;
/** SwitchML's defaults: 64-value packets; 256-value packets are its large size. */
export const DEFAULT_SIZE_CLASS = 1;
export const MAX_SLOTS = 0x8000;
export const EXPONENT_WIRE_BIAS = -2;
export const MIN_WIRE_EXPONENT = -128;
/** Bit 3 of byte 0: a header-only datagram (see above). */
export const EXPONENTS_ONLY = 0x8;

export type MessageType = typeof MSG_UPDATE | typeof MSG_RESULT;

export interface PacketHeader {
  readonly type: MessageType;
  readonly sizeClass: number;
  readonly job: number;
  readonly packetId: number;
  readonly slot: number;
  readonly copy: 0 | 1;
  /** The two int8 wire exponents (e - 2, see above). */
  readonly e0: number;
  readonly e1: number;
  /** A header-only datagram standing for all-zero values (see above); absent: false. */
  readonly exponentsOnly?: boolean;
}

/** A decoded packet: its header and a view of its values (big-endian int32, read with valueAt; empty when exponentsOnly). */
export interface Packet extends PacketHeader {
  readonly values: DataView;
  readonly exponentsOnly: boolean;
}

export type DecodeResult = { readonly ok: true; readonly packet: Packet } | { readonly ok: false; readonly reason: string };

export function valuesOf(sizeClass: number): number {
  return 32 << sizeClass;
}

export function packetBytes(sizeClass: number): number {
  return HEADER_BYTES + 4 * valuesOf(sizeClass);
}

export function isSizeClass(sizeClass: number): boolean {
  return Number.isInteger(sizeClass) && sizeClass >= MIN_SIZE_CLASS && sizeClass <= MAX_SIZE_CLASS;
}

/** The wire form of a codec exponent in [-125, 129]. */
export function toWireExponent(exponent: number): number {
  return exponent + EXPONENT_WIRE_BIAS;
}

export function fromWireExponent(wire: number): number {
  return wire - EXPONENT_WIRE_BIAS;
}

export function decodePacket(bytes: Uint8Array): DecodeResult {
  if (bytes.length < HEADER_BYTES) return { ok: false, reason: `short datagram (${bytes.length} bytes)` };
  // The header byte by byte (big-endian): a DataView for it would be one more object per result.
  const first = bytes[0]!;
  const type = first >>> 4;
  const sizeClass = first & 0x7;
  if (type !== MSG_UPDATE && type !== MSG_RESULT) return { ok: false, reason: `unknown message type ${type}` };
  const exponentsOnly = (first & EXPONENTS_ONLY) !== 0;
  const expected = exponentsOnly ? HEADER_BYTES : packetBytes(sizeClass);
  if (bytes.length !== expected) {
    return { ok: false, reason: exponentsOnly ? `an exponents-only packet is ${HEADER_BYTES} bytes, got ${bytes.length}` : `size class ${sizeClass} needs ${expected} bytes, got ${bytes.length}` };
  }
  const pool = (bytes[6]! << 8) | bytes[7]!;
  return {
    ok: true,
    packet: {
      type, sizeClass,
      job: bytes[1]!,
      packetId: ((bytes[2]! << 24) | (bytes[3]! << 16) | (bytes[4]! << 8) | bytes[5]!) >>> 0,
      slot: pool & 0x7fff,
      copy: (pool >>> 15) as 0 | 1,
      e0: (bytes[8]! << 24) >> 24,
      e1: (bytes[9]! << 24) >> 24,
      exponentsOnly,
      values: new DataView(bytes.buffer, bytes.byteOffset + HEADER_BYTES, expected - HEADER_BYTES),
    },
  };
}

/**
 * Writes a header into the first HEADER_BYTES of `into` (which holds the values already or later);
 * byte by byte, as a DataView here would be an allocation per packet (a worker writes one per send).
 */
export function writeHeader(into: Uint8Array, header: PacketHeader): void {
  const id = header.packetId >>> 0;
  const pool = (header.copy << 15) | header.slot;
  into[0] = (header.type << 4) | (header.exponentsOnly === true ? EXPONENTS_ONLY : 0) | header.sizeClass;
  into[1] = header.job;
  into[2] = id >>> 24;
  into[3] = id >>> 16;
  into[4] = id >>> 8;
  into[5] = id;
  into[6] = pool >>> 8;
  into[7] = pool;
  into[8] = header.e0; // an int8 stored into a byte: two's complement, as setInt8
  into[9] = header.e1;
}

/** A packet of `header` whose values are `values` (zero-padded to the size class). */
export function encodePacket(header: PacketHeader, values: ArrayLike<number> = []): Uint8Array {
  checkHeader(header);
  const count = valuesOf(header.sizeClass);
  if (values.length > count) throw invalidArgument(`${values.length} values do not fit size class ${header.sizeClass} (${count} values)`);
  if (header.exponentsOnly === true && values.length > 0) throw invalidArgument(`an exponents-only packet carries no values, got ${values.length}`);
  const bytes = new Uint8Array(header.exponentsOnly === true ? HEADER_BYTES : packetBytes(header.sizeClass));
  writeHeader(bytes, header);
  const view = new DataView(bytes.buffer, HEADER_BYTES);
  for (let i = 0; i < values.length; i++) view.setInt32(4 * i, values[i]!);
  return bytes;
}

function checkHeader(header: PacketHeader): void {
  const byte = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xff;
  const int8 = (n: number) => Number.isInteger(n) && n >= -128 && n <= 127;
  if (header.type !== MSG_UPDATE && header.type !== MSG_RESULT) throw invalidArgument(`message type ${String(header.type)}`);
  if (!isSizeClass(header.sizeClass)) throw invalidArgument(`size class ${header.sizeClass}`);
  if (!byte(header.job)) throw invalidArgument(`job number ${header.job}`);
  if (!Number.isInteger(header.slot) || header.slot < 0 || header.slot >= MAX_SLOTS) throw invalidArgument(`slot ${header.slot}`);
  if (!int8(header.e0) || !int8(header.e1)) throw invalidArgument(`exponents ${header.e0}, ${header.e1}`);
}

/** values[i] of a decoded packet. */
export function valueAt(values: DataView, index: number): number {
  return values.getInt32(4 * index);
}
