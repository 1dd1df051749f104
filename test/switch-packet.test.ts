// The SwitchML datagram: field layout byte by byte, round trips for every size class, and
// strict decoding that returns a reason (never throws) for anything malformed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodePacket, encodePacket, fromWireExponent, HEADER_BYTES, MSG_RESULT, MSG_UPDATE, packetBytes, toWireExponent, valueAt, valuesOf,
  type PacketHeader,
} from '../lib/switch/packet.js';

const header: PacketHeader = { type: MSG_UPDATE, sizeClass: 1, job: 7, packetId: 0x01020304, slot: 0x1234, copy: 1, e0: -3, e1: 127 };

test('layout: type|size, job, BE packet id, BE pool index with the copy in the top bit, int8 exponents, BE values', () => {
  const bytes = encodePacket(header, [1, -2]);
  assert.is(bytes.length, 10 + 64 * 4);
  assert.equal(Array.from(bytes.subarray(0, HEADER_BYTES)), [0x11, 7, 1, 2, 3, 4, 0x92, 0x34, 0xfd, 0x7f]);
  assert.equal(Array.from(bytes.subarray(10, 18)), [0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]);
  assert.ok(bytes.subarray(18).every((b) => b === 0), 'values are zero-padded to the size class');
});

test('sizes: class c carries 32 << c values; SwitchML defaults are 64 and 256', () => {
  assert.is(valuesOf(1), 64);
  assert.is(valuesOf(3), 256);
  assert.is(valuesOf(7), 4096);
  assert.is(packetBytes(3), 10 + 1024);
});

test('round trip for every size class, both copies, extreme ids and exponents', () => {
  for (let sizeClass = 0; sizeClass <= 7; sizeClass++) {
    const values = Int32Array.from({ length: valuesOf(sizeClass) }, (_, i) => (i * 0x9e3779b1) | 0);
    for (const copy of [0, 1] as const) {
      const h: PacketHeader = { type: MSG_RESULT, sizeClass, job: 255, packetId: 0xffffffff, slot: 0x7fff, copy, e0: -128, e1: 0 };
      const decoded = decodePacket(encodePacket(h, values));
      assert.ok(decoded.ok);
      if (!decoded.ok) return;
      const { values: view, ...fields } = decoded.packet;
      assert.equal(fields, { ...h, exponentsOnly: false });
      assert.equal(Int32Array.from({ length: values.length }, (_, i) => valueAt(view, i)), values);
    }
  }
});

test('wire exponents: [-125, 129] maps onto int8 monotonically', () => {
  assert.is(toWireExponent(-125), -127);
  assert.is(toWireExponent(129), 127);
  assert.is(fromWireExponent(toWireExponent(17)), 17);
});

test('decode refuses short, wrong-size, unknown-type and reserved-bit datagrams with a reason', () => {
  const good = encodePacket(header);
  const reasons = [
    new Uint8Array(0), good.subarray(0, 9), good.subarray(0, good.length - 1),
    Uint8Array.from([...good, 0]),
    (() => { const b = good.slice(); b[0] = 0x13; return b; })(), // says class 3, is class 1's length
    (() => { const b = good.slice(); b[0] = 0x31; return b; })(), // type 3
    (() => { const b = good.slice(); b[0] = 0x01; return b; })(), // type 0
    (() => { const b = good.slice(); b[0] = 0x19; return b; })(), // exponents only, with values
  ].map((bytes) => {
    const result = decodePacket(bytes);
    assert.not.ok(result.ok);
    return result.ok ? '' : result.reason;
  });
  assert.match(reasons[0]!, /short/);
  assert.match(reasons[2]!, /size class 1 needs 266 bytes, got 265/);
  assert.match(reasons[4]!, /size class 3/);
  assert.match(reasons[5]!, /message type 3/);
  assert.match(reasons[7]!, /an exponents-only packet is 10 bytes, got 266/);
});

test('exponents only: bit 3 of byte 0, the 10-byte header alone, decoded with no values; encoding refuses values', () => {
  const bytes = encodePacket({ ...header, exponentsOnly: true });
  assert.equal(Array.from(bytes), [0x19, 7, 1, 2, 3, 4, 0x92, 0x34, 0xfd, 0x7f]);
  const decoded = decodePacket(bytes);
  assert.ok(decoded.ok);
  if (!decoded.ok) return;
  const { values, ...fields } = decoded.packet;
  assert.equal(fields, { ...header, exponentsOnly: true });
  assert.is(values.byteLength, 0);
  assert.throws(() => encodePacket({ ...header, exponentsOnly: true }, [1]), /exponents-only packet carries no values/);
});

test('decode of random bytes never throws', () => {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let i = 0; i < 5000; i++) {
    const bytes = Uint8Array.from({ length: next() % 1100 }, () => next() & 0xff);
    decodePacket(bytes);
  }
});

test('encode refuses headers that cannot be written', () => {
  assert.throws(() => encodePacket({ ...header, slot: 0x8000 }), /InvalidArgument: slot/);
  assert.throws(() => encodePacket({ ...header, sizeClass: 8 }), /size class/);
  assert.throws(() => encodePacket({ ...header, e0: 128 }), /exponents/);
  assert.throws(() => encodePacket(header, new Int32Array(65)), /do not fit/);
});

test.run();
