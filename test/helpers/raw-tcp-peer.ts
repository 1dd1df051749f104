// A hand-driven tcp mesh peer for the fault tests: dials a real rank, sends whatever hello and
// bytes the test wants, and reads back the text records the rank sends (welcome, refusal, goodbye).
import { connect, type Socket } from 'node:net';
import { TEXT_HEAD_BYTES, TEXT_MAGIC, encodeTextRecord } from '../../lib/transport/tcp/text-record.js';
import { within } from '../within.js';

export class RawTcpPeer {
  private received = Buffer.alloc(0);
  private readonly texts: string[] = [];
  private readonly wakers: (() => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.parse();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects and says nothing. */
  static async connect(address: string): Promise<RawTcpPeer> {
    const [, host, port] = /^(.*):(\d+)$/.exec(address)!;
    const socket = connect({ host: host!, port: Number(port) });
    await within(new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); }), 2000, 'connect');
    return new RawTcpPeer(socket);
  }

  /** Connects and sends a mesh hello with the given fields. */
  static async dial(address: string, hello: Record<string, unknown>): Promise<RawTcpPeer> {
    const peer = await RawTcpPeer.connect(address);
    peer.send(encodeTextRecord(JSON.stringify({ t: 'hello', role: 'mesh', ...hello })));
    return peer;
  }

  /** The next text record from the rank, parsed. */
  async nextText(): Promise<Record<string, unknown>> {
    await within(new Promise<void>((resolve) => {
      const look = () => (this.texts.length > 0 ? resolve() : this.wakers.push(look));
      look();
    }), 2000, 'text record');
    return JSON.parse(this.texts.shift()!) as Record<string, unknown>;
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  private parse(): void {
    // Only text records are expected from a rank the tests do not send messages to.
    while (this.received.byteLength >= TEXT_HEAD_BYTES && this.received.readUInt32LE(0) === TEXT_MAGIC) {
      const length = this.received.readUInt32LE(4);
      if (this.received.byteLength < TEXT_HEAD_BYTES + length) break;
      this.texts.push(this.received.subarray(TEXT_HEAD_BYTES, TEXT_HEAD_BYTES + length).toString());
      this.received = this.received.subarray(TEXT_HEAD_BYTES + length);
    }
    this.wakers.splice(0).forEach((wake) => wake());
  }
}
