// Unmasking a client's payload in place (RFC 6455 section 5.3). Node ranks send under the
// all-zero key, which needs nothing; a browser masks every frame with a random key, so the relay
// server (lib/rendezvous/relay-stream.ts) undoes it on every byte a tab sends. A byte loop
// in JavaScript runs at a fraction of the link's rate; `bufferutil` (ws's optional native addon,
// installed beside it) does it natively, and without it 32-bit words do a quarter of the steps.
import { createRequire } from 'node:module';
import { bufferutilLoaded } from './bufferutil-status.js';

type NativeUnmask = (buffer: Buffer, mask: Buffer) => void;

let native: NativeUnmask | null | undefined;

function nativeUnmask(): NativeUnmask | null {
  if (native === undefined) {
    native = bufferutilLoaded() ? (createRequire(import.meta.url)('bufferutil') as { unmask: NativeUnmask }).unmask : null;
  }
  return native;
}

/**
 * XORs `bytes` with the 4-byte `mask`, starting at byte `offset` of the mask's cycle (the bytes
 * of the frame's payload that came before these).
 */
export function unmaskInPlace(bytes: Uint8Array, mask: Uint8Array, offset: number): void {
  if (bytes.byteLength === 0) return;
  const key = Buffer.from([mask[offset & 3]!, mask[(offset + 1) & 3]!, mask[(offset + 2) & 3]!, mask[(offset + 3) & 3]!]);
  const unmask = nativeUnmask();
  if (unmask) unmask(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), key);
  else unmaskInJavaScript(bytes, key);
}

/** unmaskInPlace without bufferutil, for `key` already turned to the bytes' first position. */
export function unmaskInJavaScript(bytes: Uint8Array, key: Uint8Array): void {
  // Bytes up to a 4-byte boundary one at a time, then whole words (the key turned to match), then the tail.
  let at = 0;
  while (at < bytes.byteLength && (bytes.byteOffset + at) % 4 !== 0) {
    bytes[at]! ^= key[at & 3]!;
    at++;
  }
  const words = (bytes.byteLength - at) >> 2;
  if (words > 0) {
    const turned = new Uint8Array(4);
    for (let i = 0; i < 4; i++) turned[i] = key[(at + i) & 3]!;
    const word = new Uint32Array(turned.buffer)[0]!;
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + at, words);
    for (let i = 0; i < words; i++) view[i]! ^= word;
    at += words * 4;
  }
  for (; at < bytes.byteLength; at++) bytes[at]! ^= key[at & 3]!;
}
