// A WebSocket client written by hand on a net.Socket, for the tests that play a hostile
// stranger: it performs the HTTP upgrade itself and then sends whatever bytes a test wants,
// including frames no WebSocket library would send (reserved opcodes, RSV bits, lies about
// lengths, unmasked client frames, invalid UTF-8). It reads back the server's frames, so a test
// can see a close code, and notices when the server ends the connection.
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { within } from '../within.js';

export interface FrameSpec {
  readonly opcode: number;
  readonly payload?: Uint8Array;
  /** Defaults to true. */
  readonly fin?: boolean;
  /** The three RSV bits, 0..7 (0 unless an extension was agreed). */
  readonly rsv?: number;
  /** Client frames must be masked (RFC 6455 5.1); defaults to true. */
  readonly mask?: boolean;
  /** The length the header claims, when it should differ from the payload's. */
  readonly claimedLength?: number | undefined;
}

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** One WebSocket frame's bytes (the payload masked when `mask` is on, as a client must). */
export function wsFrame(spec: FrameSpec): Buffer {
  const payload = Buffer.from(spec.payload ?? new Uint8Array(0));
  const length = spec.claimedLength ?? payload.byteLength;
  const masked = spec.mask ?? true;
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 0x10000) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** The HTTP request that upgrades a connection to a WebSocket (on `path`, default '/'). */
export function upgradeRequest(host: string, port: number, path = '/'): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

export class RawWebSocket {
  /** Resolves when the server (or the network) has ended the connection. */
  readonly closed: Promise<void>;
  private received = Buffer.alloc(0);
  private upgraded = false;
  private readonly texts: string[] = [];
  private closeCode: number | undefined;
  /** Payload bytes of the binary frames received so far. */
  binaryBytes = 0;
  private readonly wakers: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.parse();
    });
  }

  /** Connects to host:port and performs the upgrade on `path` (fails unless the server answers 101). */
  static async open(host: string, port: number, path = '/'): Promise<RawWebSocket> {
    const socket = connect({ host, port });
    await within(new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); }), 3000, 'connect');
    const raw = new RawWebSocket(socket);
    socket.write(upgradeRequest(host, port, path));
    await raw.until(() => raw.upgraded, 'upgrade');
    return raw;
  }

  /** Opens and says a text hello, then waits for the welcome (a test that expects one). */
  static async welcomed(host: string, port: number, hello: Record<string, unknown>, path = '/'): Promise<RawWebSocket> {
    const raw = await RawWebSocket.open(host, port, path);
    raw.send(wsFrame({ opcode: OPCODE.text, payload: Buffer.from(JSON.stringify({ t: 'hello', ...hello })) }));
    const text = await raw.nextText();
    if (!text.includes('welcome')) throw new Error(`expected a welcome, got ${text}`);
    return raw;
  }

  send(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The close code of the server's close frame, if one came. */
  get serverCloseCode(): number | undefined {
    return this.closeCode;
  }

  /** The code of the server's close frame, once it has come. */
  async closeFrame(): Promise<number> {
    await this.until(() => this.closeCode !== undefined, 'close frame');
    return this.closeCode!;
  }

  async nextText(): Promise<string> {
    await this.until(() => this.texts.length > 0, 'text message');
    return this.texts.shift()!;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private until(ready: () => boolean, what: string): Promise<void> {
    return within(new Promise<void>((resolve, reject) => {
      const look = () => {
        if (ready()) resolve();
        else if (this.socket.destroyed) reject(new Error(`connection closed while waiting for ${what}`));
        else this.wakers.push(look);
      };
      look();
      this.socket.once('close', () => this.wakers.splice(0).forEach((wake) => wake()));
    }), 3000, what);
  }

  private parse(): void {
    if (!this.upgraded) {
      const end = this.received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = this.received.subarray(0, this.received.indexOf('\r\n')).toString();
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        this.socket.destroy(); // open() then fails, naming what it waited for
        return;
      }
      this.upgraded = true;
      this.received = this.received.subarray(end + 4);
    }
    // Server frames are never masked.
    for (;;) {
      if (this.received.length < 2) break;
      const opcode = this.received[0]! & 0x0f;
      let length = this.received[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.received.length < 4) break;
        length = this.received.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.received.length < 10) break;
        length = Number(this.received.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.received.length < offset + length) break;
      const payload = this.received.subarray(offset, offset + length);
      if (opcode === OPCODE.text) this.texts.push(payload.toString());
      if (opcode === OPCODE.binary) this.binaryBytes += payload.length;
      if (opcode === OPCODE.close && payload.length >= 2) this.closeCode = payload.readUInt16BE(0);
      this.received = this.received.subarray(offset + length);
    }
    this.wakers.splice(0).forEach((wake) => wake());
  }
}

/** Frames that break RFC 6455 in each way `ws` reports as an 'error' on the receiving socket. */
export const PROTOCOL_VIOLATIONS: readonly { readonly name: string; readonly bytes: Buffer }[] = [
  { name: 'a header claiming more than maxPayload', bytes: wsFrame({ opcode: OPCODE.binary, claimedLength: 2 ** 40, payload: Buffer.alloc(16) }) },
  { name: 'a text frame of invalid UTF-8', bytes: wsFrame({ opcode: OPCODE.text, payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }) },
  { name: 'a reserved opcode', bytes: wsFrame({ opcode: 3, payload: Buffer.from('x') }) },
  { name: 'an unmasked client frame', bytes: wsFrame({ opcode: OPCODE.text, mask: false, payload: Buffer.from('{}') }) },
  { name: 'RSV1 set without an extension', bytes: wsFrame({ opcode: OPCODE.text, rsv: 4, payload: Buffer.from('{}') }) },
  { name: 'a fragmented ping', bytes: wsFrame({ opcode: OPCODE.ping, fin: false }) },
  { name: 'a continuation with nothing to continue', bytes: wsFrame({ opcode: OPCODE.continuation, payload: Buffer.from('x') }) },
  { name: 'a close frame with an invalid code', bytes: wsFrame({ opcode: OPCODE.close, payload: Buffer.from([0x03, 0xe7]) }) },
];
