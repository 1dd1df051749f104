// A stranger on a raw net.Socket, for the tests that time how long a listener holds it: it can
// stay idle, trickle HTTP headers, or upgrade by hand and send a text frame, and it never answers
// a WebSocket close frame nor ends its side (allowHalfOpen), so only the listener can end it.
import { connect, type Socket } from 'node:net';
import { within } from '../within.js';

export class RawStranger {
  /** Milliseconds from connect until the listener ended or reset the connection. */
  readonly dropped: Promise<number>;
  private received = '';
  private trickle: ReturnType<typeof setInterval> | undefined;

  private constructor(readonly socket: Socket, private readonly connectedAt: number) {
    socket.on('data', (chunk: Buffer) => { this.received += chunk.toString('latin1'); });
    socket.on('error', () => {});
    this.dropped = new Promise((resolve) => {
      const done = () => {
        clearInterval(this.trickle);
        resolve(Date.now() - this.connectedAt);
      };
      socket.once('end', done);
      socket.once('close', done);
    });
  }

  static async connect(host: string, port: number): Promise<RawStranger> {
    const socket = connect({ host, port, allowHalfOpen: true });
    await within(new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); }), 2000, 'connect');
    return new RawStranger(socket, Date.now());
  }

  /** Starts an HTTP request and sends one more header line every `everyMs`, never finishing. */
  trickleHeaders(everyMs: number): void {
    this.socket.write('GET / HTTP/1.1\r\nHost: stranger\r\n');
    let n = 0;
    this.trickle = setInterval(() => this.socket.write(`X-Slow-${n++}: x\r\n`), everyMs);
  }

  /** Upgrades to WebSocket by hand; resolves once the listener answered 101. */
  async upgrade(): Promise<void> {
    this.socket.write([
      'GET / HTTP/1.1', 'Host: stranger', 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', '', '',
    ].join('\r\n'));
    await within(new Promise<void>((resolve) => {
      const look = () => (this.received.includes('\r\n\r\n') ? resolve() : setTimeout(look, 5));
      look();
    }), 2000, 'upgrade answer');
    if (!this.received.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${this.received.split('\r\n')[0]}`);
  }

  /** Sends one masked text frame (under 126 bytes), as a client must. */
  sendText(text: string): void {
    const payload = Buffer.from(text);
    if (payload.byteLength >= 126) throw new Error('sendText: short texts only');
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
    this.socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.byteLength]), mask, masked]));
  }

  destroy(): void {
    clearInterval(this.trickle);
    this.socket.destroy();
  }
}
