// The relay's own path for ws:// clients (RELAY_PATH). Node's http server reads the upgrade
// request; the connection's socket is then read by the websocket mesh's reader with
// net.Socket's `onread` option (websocket/ws-reader.ts), so a frame's payload goes from the kernel
// straight into pooled memory and from there to its destination's socket (relay-hub.ts), where
// `ws` allocates a buffer for every message and copies every one that spans socket reads
// (docs/PERFORMANCE.md, relay37). A wss:// server keeps ws on every path: a TLS socket's bytes
// are not the kernel's to place. A client that breaks the protocol is cut off as on ws's path;
// before its hello it is a stranger held to the reader's small staging buffer and the hello's
// deadline (hello-gate.ts).
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { CLOSE_BAD_HELLO, WELCOME } from '../transport/handshake/handshake.js';
import { awaitHello, type HelloGate } from '../transport/handshake/hello-gate.js';
import { endPolitely, writeIfOpen } from '../transport/mesh/end-politely.js';
import { meshDoor } from '../transport/mesh/mesh-door.js';
import { closeFrame, frameHeader, NOT_AN_UPGRADE, OPCODE, upgradeKeyFrom, upgradeResponse, wholeFrame } from '../transport/websocket/rfc6455.js';
import { WebSocketReader } from '../transport/websocket/ws-reader.js';
import type { RelayHub } from './relay-hub.js';
import type { RelayMember, RelaySeat } from './relay-member.js';
import { RELAY_PATH } from './relay-notice.js';

/** What the WebSocket protocol calls a connection that ended without a close frame. */
const CLOSED_WITHOUT_GOODBYE = 1006;

export interface RelayStreamContext {
  readonly hub: RelayHub;
  readonly gate: HelloGate;
  readonly log: Logger;
  /** The most bytes one binary message may carry (a webccl frame: maxFrameBytes). */
  readonly maxFramePayload: number;
  /** The server keeps the connection's socket for its close (and forgets it when it closes). */
  readonly track: (socket: Socket) => void;
}

/**
 * Takes an upgrade request for RELAY_PATH (`upgraded`: a plain TCP socket, `head`: what came after
 * the request); false, having touched nothing, where the socket has no handle to take over (a
 * Node whose sockets are built otherwise), so that ws takes it as it takes every other path.
 */
export function acceptRelayStream(request: IncomingMessage, upgraded: Socket, head: Buffer, context: RelayStreamContext): boolean {
  const handle = handleOf(upgraded);
  if (!handle) return false;
  const who = `rendezvous: relay connection from ${upgraded.remoteAddress}:${upgraded.remotePort}`;
  const fields = new Map(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value ?? '']));
  const asked = upgradeKeyFrom(`${request.method} ${request.url} HTTP/${request.httpVersion}`, fields);
  if ('problem' in asked) {
    context.log.warn(`${who}: ${asked.problem}; answering 426`);
    endPolitely(upgraded, new TextEncoder().encode(NOT_AN_UPGRADE));
    return true;
  }
  const reader = new WebSocketReader({ role: 'server', maxFramePayload: context.maxFramePayload, afterHandshake: true });
  const socket = takeOver(upgraded, handle, reader);
  context.track(socket);
  // A reset or the like destroys the socket, and its 'close' reaches the door or the seat.
  socket.on('error', (error) => context.log.info(`${who}: ${error.message}`));
  const door = meshDoor(socket, reader, {
    sink: (common) => ({ ...common, ping: (payload) => writeIfOpen(socket, wholeFrame(OPCODE.pong, payload, false)), closing: () => socket.destroy() }),
    refusal: ({ code, reason }) => closeFrame(code, reason, false),
  });
  awaitHello(door, context.gate, (hello) => {
    if (hello.role !== 'relay') return { code: CLOSE_BAD_HELLO, reason: `role '${hello.role}' is not served on ${RELAY_PATH}` };
    const member = new RelayStreamMember(socket, reader);
    const seat = context.hub.join(member, hello, () => writeIfOpen(socket, wholeFrame(OPCODE.text, new TextEncoder().encode(WELCOME), false)));
    if (seat) member.seated(seat);
    return undefined;
  });
  socket.write(upgradeResponse(asked.key));
  // Bytes the client sent behind its request, which the http server read with it.
  for (let at = 0; at < head.byteLength;) {
    const into = reader.nextBuffer();
    const count = Math.min(into.byteLength, head.byteLength - at);
    into.set(head.subarray(at, at + count));
    at += count;
    reader.arrived(count);
  }
  socket.resume();
  return true;
}

/** The libuv stream handle under a net.Socket (Node's private `_handle`), where there is one. */
interface StreamHandle {
  reading: boolean;
  readStop(): number;
}

function handleOf(socket: Socket): StreamHandle | null {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  return handle && typeof handle.readStop === 'function' ? handle : null;
}

/**
 * The upgraded connection's handle under a new net.Socket that reads into `reader`'s buffers
 * (the http server's socket cannot be given `onread`; mesh-listener.ts does the same with a fresh
 * one). The old socket, left without its handle, is destroyed: that closes nothing, and its
 * server stops counting it (http's close waits for the sockets it counts).
 */
function takeOver(upgraded: Socket, handle: StreamHandle, reader: WebSocketReader): Socket {
  upgraded.setTimeout(0);
  // Reading starts again under the new socket (its resume), into the reader's buffers.
  handle.reading = false;
  handle.readStop();
  (upgraded as unknown as { _handle: StreamHandle | null })._handle = null;
  const socket = new Socket({
    handle, onread: { buffer: () => reader.nextBuffer(), callback: (bytes: number) => { reader.arrived(bytes); return true; } },
  } as unknown as ConstructorParameters<typeof Socket>[0]);
  socket.setNoDelay(true);
  upgraded.destroy();
  return socket;
}

/** A seated client of RELAY_PATH: frames out as one writev each (WebSocket header, then the frame's parts). */
class RelayStreamMember implements RelayMember {
  private goodbye: { code: number; reason: string } | undefined;

  constructor(private readonly socket: Socket, private readonly reader: WebSocketReader) {}

  /** Hands the reader's frames to `seat`, and the connection's end. */
  seated(seat: RelaySeat): void {
    this.reader.sink = {
      text: () => seat.garbage('a text message after the hello'),
      frameHead: (head) => seat.frameHead(head),
      framePayload: () => seat.framePayload(),
      garbage: (detail) => seat.garbage(detail),
      ping: (payload) => writeIfOpen(this.socket, wholeFrame(OPCODE.pong, payload, false)),
      closing: (code, reason) => {
        // Its goodbye: answered in kind (section 5.5.1), and the others told why it left.
        this.goodbye = { code, reason };
        endPolitely(this.socket, closeFrame(code, '', false));
      },
    };
    this.socket.once('close', () => seat.left(this.goodbye?.code ?? CLOSED_WITHOUT_GOODBYE, this.goodbye?.reason ?? 'ended without a goodbye'));
  }

  sendFrame(parts: readonly Uint8Array[], done: (error?: Error) => void): void {
    if (this.socket.destroyed || this.socket.writableEnded) return done(new Error('the connection is closed'));
    const bytes = parts.reduce((sum, part) => sum + part.byteLength, 0);
    // The socket writes in order, so the last part's callback means all were written.
    this.socket.cork();
    this.socket.write(frameHeader(OPCODE.binary, bytes, false));
    parts.forEach((part, index) => (index === parts.length - 1 ? this.socket.write(part, (error) => done(error ?? undefined)) : this.socket.write(part)));
    this.socket.uncork();
  }

  sendText(text: string): void {
    writeIfOpen(this.socket, wholeFrame(OPCODE.text, new TextEncoder().encode(text), false));
  }

  close(code: number, reason: string): void {
    this.reader.stop();
    endPolitely(this.socket, closeFrame(code, reason, false));
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  get readingPaused(): boolean {
    return this.socket.isPaused();
  }
}
