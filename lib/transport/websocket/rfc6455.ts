// The pieces of RFC 6455 (the WebSocket protocol) that the Node websocket mesh speaks itself:
// the opening handshake's HTTP heads and the frame headers. The mesh does not go through the
// `ws` package (which the rendezvous server and the relay keep): ws hands every message to its
// listener as a buffer of its own, a fresh allocation and a copy whenever a message spans socket
// reads, which for MiB payloads cost more CPU than the transfer itself (docs/PERFORMANCE.md,
// ws35). Speaking the protocol on the raw socket, the mesh reads each payload straight into its
// message as the tcp mesh does (ws-reader.ts).
import { createHash, randomBytes } from 'node:crypto';

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Control frames (close, ping, pong) carry at most this many payload bytes, unfragmented. */
export const MAX_CONTROL_PAYLOAD = 125;

/** What a close frame says when it carries no code (never sent on the wire). */
export const CLOSE_NO_STATUS = 1005;

const FIN = 0x80;
const MASKED = 0x80;
const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * The header of one unfragmented frame of `payloadBytes`. `masked` (a client's frames must be,
 * section 5.1) sets the mask bit with an all-zero key: the mesh's peers are webccl ranks admitted
 * by the world's secret, point to point, so the XOR would protect no proxy and cost a pass over
 * every byte; with a zero key the payload goes out as it is, and any receiver unmasks it to itself.
 */
export function frameHeader(opcode: number, payloadBytes: number, masked: boolean): Uint8Array {
  const lengthBytes = payloadBytes < 126 ? 0 : payloadBytes < 0x10000 ? 2 : 8;
  const head = new Uint8Array(2 + lengthBytes + (masked ? 4 : 0));
  head[0] = FIN | opcode;
  const view = new DataView(head.buffer);
  if (lengthBytes === 0) head[1] = payloadBytes;
  else if (lengthBytes === 2) {
    head[1] = 126;
    view.setUint16(2, payloadBytes);
  } else {
    head[1] = 127;
    view.setBigUint64(2, BigInt(payloadBytes));
  }
  if (masked) head[1] |= MASKED;
  return head;
}

/** A whole unfragmented frame: header and payload in one buffer (small frames: text, control). */
export function wholeFrame(opcode: number, payload: Uint8Array, masked: boolean): Uint8Array {
  const head = frameHeader(opcode, payload.byteLength, masked);
  const frame = new Uint8Array(head.byteLength + payload.byteLength);
  frame.set(head);
  frame.set(payload, head.byteLength);
  return frame;
}

/** A close frame's payload: the code, then a reason cut to what fits a control frame. */
export function closePayload(code: number, reason: string): Uint8Array {
  let text = new TextEncoder().encode(reason);
  if (text.byteLength > MAX_CONTROL_PAYLOAD - 2) text = text.subarray(0, MAX_CONTROL_PAYLOAD - 2);
  const payload = new Uint8Array(2 + text.byteLength);
  new DataView(payload.buffer).setUint16(0, code);
  payload.set(text, 2);
  return payload;
}

/** A whole close frame: `code` and `reason`, or no payload where the code is undefined or CLOSE_NO_STATUS (a close that gave none). */
export function closeFrame(code: number | undefined, reason: string, masked: boolean): Uint8Array {
  return wholeFrame(OPCODE.close, code === undefined || code === CLOSE_NO_STATUS ? new Uint8Array(0) : closePayload(code, reason), masked);
}

/** Whether a close frame may carry `code` (section 7.4: the defined codes, and 3000-4999 for libraries and applications). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function handshakeKey(): string {
  return randomBytes(16).toString('base64');
}

/** The Sec-WebSocket-Accept that answers `key`. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
}

/** The client's upgrade request for `host` (host:port as dialled) and `path` (default '/'). */
export function upgradeRequest(host: string, key: string, path = '/'): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

/** The server's answer to an upgrade request with `key`. */
export function upgradeResponse(key: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
}

/** What a server answers a request it does not upgrade; the connection then ends. */
export const NOT_AN_UPGRADE = 'HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n';

/** An HTTP head (start line and header fields, without the blank line) as its start line and lower-cased field names. */
export function parseHead(head: string): { startLine: string; fields: Map<string, string> } {
  const [startLine = '', ...lines] = head.split('\r\n');
  const fields = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { startLine, fields };
}

/** The request's Sec-WebSocket-Key when `head` is a version-13 WebSocket upgrade (section 4.2.1), else why it is not. */
export function upgradeKeyOf(head: string): { key: string } | { problem: string } {
  const { startLine, fields } = parseHead(head);
  return upgradeKeyFrom(startLine, fields);
}

/** upgradeKeyOf for a request already parsed (Node's http server's): its start line and lower-cased fields. */
export function upgradeKeyFrom(startLine: string, fields: ReadonlyMap<string, string>): { key: string } | { problem: string } {
  if (!/^GET \S+ HTTP\/1\.1$/.test(startLine)) return { problem: 'not an HTTP/1.1 GET' };
  if (!/\bwebsocket\b/i.test(fields.get('upgrade') ?? '')) return { problem: 'no Upgrade: websocket' };
  if (!/\bupgrade\b/i.test(fields.get('connection') ?? '')) return { problem: 'no Connection: Upgrade' };
  if (fields.get('sec-websocket-version') !== '13') return { problem: 'not WebSocket version 13' };
  const key = fields.get('sec-websocket-key') ?? '';
  if (!/^[+/0-9A-Za-z]{21}[AQgw]==$/.test(key)) return { problem: 'no valid Sec-WebSocket-Key' };
  return { key };
}

/** Undefined when `head` accepts the upgrade asked for with `key`, else what is wrong with it. */
export function upgradeRefusal(head: string, key: string): string | undefined {
  const { startLine, fields } = parseHead(head);
  if (!/^HTTP\/1\.1 101\b/.test(startLine)) return `answered the upgrade with '${startLine.slice(0, 80)}'`;
  if (fields.get('sec-websocket-accept') !== acceptFor(key)) return 'answered the upgrade with a wrong Sec-WebSocket-Accept';
  return undefined;
}
