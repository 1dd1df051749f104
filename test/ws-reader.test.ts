// The websocket mesh's reader (lib/transport/websocket/ws-reader.ts) fed as net.Socket's onread
// feeds it: into whatever buffer it offers, a read of any size at a time. Frames are built by
// the hostile client's helper (test/helpers/raw-web-socket.ts), which masks with random keys as
// any client does, so unmasking is checked too, through staging and straight into a message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeFrame, encodeFrameHeader, HEADER_BYTES } from '../lib/transport/frame.js';
import type { Header } from '../lib/transport/transport.js';
import { acceptFor, frameHeader, upgradeKeyOf, upgradeRefusal, upgradeRequest, upgradeResponse } from '../lib/transport/websocket/rfc6455.js';
import { WebSocketReader } from '../lib/transport/websocket/ws-reader.js';
import { unmaskInJavaScript, unmaskInPlace } from '../lib/transport/websocket/unmask.js';
import { OPCODE, wsFrame, type FrameSpec } from './helpers/raw-web-socket.js';

const HEADER: Header = { comm: 1, seq: 2, chunk: 0, signature: { kind: 'send', dtype: 'none', op: 'none', count: 0, root: -1 } };
const MAX_PAYLOAD = HEADER_BYTES + (1 << 20);

interface Seen {
  texts: string[];
  payloads: Uint8Array[];
  garbage: string[];
  closes: [number, string][];
  pings: number;
  /** Bytes the kernel wrote straight into a payload (nextBuffer offered a view of it). */
  direct: number;
}

function reader(role: 'server' | 'client' = 'server'): { reader: WebSocketReader; seen: Seen } {
  const seen: Seen = { texts: [], payloads: [], garbage: [], closes: [], pings: 0, direct: 0 };
  const reader = new WebSocketReader({ role, maxFramePayload: MAX_PAYLOAD, head: () => true });
  let target: Uint8Array | undefined;
  reader.sink = {
    text: (text) => seen.texts.push(text),
    frameHead: (head) => {
      target = new Uint8Array(new DataView(head.buffer, head.byteOffset).getUint32(36, true));
      return target;
    },
    framePayload: () => seen.payloads.push(target!),
    garbage: (detail) => seen.garbage.push(detail),
    closing: (code, reason) => seen.closes.push([code, reason]),
    ping: () => seen.pings++,
  };
  return { reader, seen };
}

/** Feeds `bytes` as reads of at most `step` bytes each; the HTTP head first unless `head` is false. */
function feed(r: { reader: WebSocketReader; seen: Seen }, bytes: Uint8Array, step: number, head = true): void {
  const all = head ? concat(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'), bytes) : bytes;
  for (let at = 0; at < all.byteLength;) {
    const into = r.reader.nextBuffer();
    const count = Math.min(into.byteLength, step, all.byteLength - at);
    into.set(all.subarray(at, at + count));
    if (into.buffer !== (r.reader as unknown as { staging: Uint8Array }).staging.buffer) r.seen.direct += count;
    r.reader.arrived(count);
    at += count;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function pattern(bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + 3) & 0xff);
}

function webcclFrame(payload: Uint8Array): Uint8Array {
  return encodeFrame(HEADER, { route: 1, messageBytes: payload.byteLength, offset: 0 }, payload);
}

const binary = (payload: Uint8Array, spec: Partial<FrameSpec> = {}) => wsFrame({ opcode: OPCODE.binary, payload, ...spec });

test('a large frame arrives whole, unmasked, read mostly straight into its message, at any read size', () => {
  const payload = pattern(200_000);
  for (const step of [1, 7, 56, 4096, 65536, 1 << 20]) {
    const r = reader();
    feed(r, binary(webcclFrame(payload)), step);
    assert.equal(r.seen.garbage, [], `step ${step}`);
    assert.is(r.seen.payloads.length, 1, `step ${step}`);
    assert.equal(r.seen.payloads[0], payload, `step ${step}`);
    if (step >= 4096) assert.ok(r.seen.direct > payload.byteLength / 2, `step ${step}: ${r.seen.direct} bytes read straight into the message`);
  }
});

test('frames from the dialling mesh (zero mask key) and to it (no mask), back to back', () => {
  const payloads = [pattern(0), pattern(1), pattern(70_000), pattern(300)];
  const masked = concat(...payloads.map((p) => concat(frameHeader(OPCODE.binary, HEADER_BYTES + p.byteLength, true), webcclFrame(p).subarray(0, HEADER_BYTES), p)));
  const server = reader('server');
  feed(server, masked, 5000);
  assert.equal(server.seen.garbage, []);
  assert.equal(server.seen.payloads, payloads);
  const unmasked = concat(...payloads.map((p) => concat(frameHeader(OPCODE.binary, HEADER_BYTES + p.byteLength, false), webcclFrame(p))));
  const client = reader('client');
  feed(client, unmasked, 3000);
  assert.equal(client.seen.garbage, []);
  assert.equal(client.seen.payloads, payloads);
});

test('a header alone, then its payload as the next message; a fragmented message with a ping inside', () => {
  const payload = pattern(50_000);
  const frame = webcclFrame(payload);
  const r = reader();
  feed(r, concat(binary(frame.subarray(0, HEADER_BYTES)), binary(payload)), 1000);
  assert.equal(r.seen.payloads, [payload]);
  const f = reader();
  feed(f, concat(
    binary(frame.subarray(0, 30_000), { fin: false }),
    wsFrame({ opcode: OPCODE.ping, payload: new Uint8Array(3) }),
    wsFrame({ opcode: OPCODE.continuation, payload: frame.subarray(30_000) }),
  ), 2048);
  assert.equal(f.seen.garbage, []);
  assert.equal(f.seen.payloads, [payload]);
  assert.is(f.seen.pings, 1);
});

test('text messages and close frames', () => {
  const r = reader();
  feed(r, concat(
    wsFrame({ opcode: OPCODE.text, payload: new TextEncoder().encode('{"t":"hello","é":1}') }),
    wsFrame({ opcode: OPCODE.close, payload: concat(Uint8Array.of(0x0f, 0xa1), new TextEncoder().encode('bye')) }),
    binary(webcclFrame(pattern(10))),
  ), 3);
  assert.equal(r.seen.texts, ['{"t":"hello","é":1}']);
  assert.equal(r.seen.closes, [[4001, 'bye']]);
  assert.equal(r.seen.payloads, [], 'nothing is read after a close frame');
});

test('every protocol violation stops reading with a reason', () => {
  const header = webcclFrame(pattern(10)).subarray(0, HEADER_BYTES);
  const violations: [string, Uint8Array, RegExp, ('server' | 'client')?][] = [
    ['RSV1', binary(webcclFrame(pattern(1)), { rsv: 4 }), /reserved bits/],
    ['reserved opcode', wsFrame({ opcode: 3, payload: Uint8Array.of(1) }), /reserved opcode 3/],
    ['unmasked client frame', binary(webcclFrame(pattern(1)), { mask: false }), /unmasked frame from the client/],
    ['masked server frame', binary(webcclFrame(pattern(1))), /masked frame from the server/, 'client'],
    ['fragmented ping', wsFrame({ opcode: OPCODE.ping, fin: false }), /fragmented control frame/],
    ['long ping', wsFrame({ opcode: OPCODE.ping, payload: new Uint8Array(126) }), /control frame of 126 bytes/],
    ['stray continuation', wsFrame({ opcode: OPCODE.continuation, payload: Uint8Array.of(1) }), /no message to continue/],
    ['new message inside one', concat(binary(header, { fin: false }), binary(header)), /new message inside a fragmented one/],
    ['oversized', binary(new Uint8Array(16), { claimedLength: 2 ** 40 }), new RegExp(`binary message of more than ${MAX_PAYLOAD} bytes`)],
    ['long text', wsFrame({ opcode: OPCODE.text, payload: new Uint8Array(5000) }), /text message of more than 4096 bytes/],
    ['invalid UTF-8', wsFrame({ opcode: OPCODE.text, payload: Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d) }), /invalid UTF-8/],
    ['bad close code', wsFrame({ opcode: OPCODE.close, payload: Uint8Array.of(0x03, 0xe7) }), /invalid code 999/],
    ['two frames in a message', binary(concat(webcclFrame(pattern(2)), webcclFrame(pattern(2)))), /holds more than one frame/],
    ['short payload', binary(webcclFrame(pattern(10)).subarray(0, HEADER_BYTES + 4)), /ends after 4 of its frame's 10 payload bytes/],
    ['short header', binary(header.subarray(0, 20)), /20 bytes, shorter than a frame header/],
    ['text where a payload is due', concat(binary(header), wsFrame({ opcode: OPCODE.text, payload: Uint8Array.of(0x41) })), /text message where a frame's payload was due/],
  ];
  for (const [name, bytes, why, role] of violations) {
    const r = reader(role);
    feed(r, concat(bytes, binary(webcclFrame(pattern(3)))), 9);
    assert.is(r.seen.garbage.length, 1, name);
    assert.match(r.seen.garbage[0]!, why, name);
    assert.ok(r.seen.payloads.every((p) => p.byteLength !== 3), `${name}: nothing read after it`);
  }
});

test('an HTTP head longer than the staging buffer is garbage; the opening handshake round trip', () => {
  const r = reader();
  feed(r, new TextEncoder().encode(`GET / HTTP/1.1\r\nX: ${'a'.repeat(9000)}\r\n\r\n`), 4096, false);
  assert.match(r.seen.garbage[0] ?? '', /HTTP head of more than/);
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  assert.is(acceptFor(key), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'RFC 6455 section 1.3 example');
  const request = upgradeRequest('h:1', key);
  assert.equal(upgradeKeyOf(request.slice(0, -4)), { key });
  assert.ok('problem' in upgradeKeyOf(request.replace('Version: 13', 'Version: 8').slice(0, -4)));
  assert.ok('problem' in upgradeKeyOf('POST / HTTP/1.1\r\nUpgrade: websocket'));
  assert.is(upgradeRefusal(upgradeResponse(key).slice(0, -4), key), undefined);
  assert.match(upgradeRefusal(upgradeResponse(key).slice(0, -4), 'x' + key.slice(1)) ?? '', /wrong Sec-WebSocket-Accept/);
  assert.match(upgradeRefusal('HTTP/1.1 426 Upgrade Required', key) ?? '', /426/);
});

test('frame headers: the three length forms', () => {
  for (const [bytes, size] of [[125, 2], [126, 4], [65535, 4], [65536, 10]] as const) {
    assert.is(frameHeader(OPCODE.binary, bytes, false).byteLength, size, `${bytes}`);
    assert.is(frameHeader(OPCODE.binary, bytes, true).byteLength, size + 4, `${bytes} masked`);
  }
  assert.equal(encodeFrameHeader(HEADER, { route: 1, messageBytes: 0, offset: 0 }, 0).byteLength, HEADER_BYTES);
});

test('unmasking in place, natively and in JavaScript, at any alignment and mask position, as a byte loop does', () => {
  const mask = Uint8Array.of(0x12, 0xa7, 0x3c, 0xf0);
  const memory = new Uint8Array(300);
  for (let i = 0; i < memory.length; i++) memory[i] = (i * 37 + 11) & 0xff;
  for (const start of [0, 1, 2, 3, 5]) {
    for (const length of [0, 1, 3, 4, 7, 64, 131]) {
      for (const offset of [0, 1, 2, 3, 6]) {
        const expected = memory.slice(start, start + length).map((byte, i) => byte ^ mask[(offset + i) & 3]!);
        const native = memory.slice();
        unmaskInPlace(native.subarray(start, start + length), mask, offset);
        assert.equal(native.subarray(start, start + length), expected, `native: start ${start}, length ${length}, offset ${offset}`);
        const js = memory.slice();
        const turned = Uint8Array.from({ length: 4 }, (_, i) => mask[(offset + i) & 3]!);
        unmaskInJavaScript(js.subarray(start, start + length), turned);
        assert.equal(js.subarray(start, start + length), expected, `JavaScript: start ${start}, length ${length}, offset ${offset}`);
        // Nothing outside the bytes is touched.
        assert.equal([...native.subarray(0, start), ...native.subarray(start + length)], [...memory.subarray(0, start), ...memory.subarray(start + length)]);
        assert.equal([...js.subarray(0, start), ...js.subarray(start + length)], [...memory.subarray(0, start), ...memory.subarray(start + length)]);
      }
    }
  }
});

test('a reader that starts after the handshake (the relay server\'s) reads frames from its first byte', () => {
  const seen: string[] = [];
  const late = new WebSocketReader({ role: 'server', maxFramePayload: MAX_PAYLOAD, afterHandshake: true });
  late.sink = { text: (text) => seen.push(text), frameHead: () => undefined, framePayload: () => {}, garbage: (detail) => seen.push(`garbage: ${detail}`), ping: () => {}, closing: () => {} };
  const bytes = wsFrame({ opcode: OPCODE.text, payload: Buffer.from('hello there') });
  const into = late.nextBuffer();
  into.set(bytes);
  late.arrived(bytes.byteLength);
  assert.equal(seen, ['hello there']);
  assert.ok(late.upgraded);
});

test.run();
