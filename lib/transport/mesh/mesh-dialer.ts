// The dialling side of a stream mesh connection (tcp or websocket), whatever its protocol:
// connects, reading through the protocol's reader from the first byte (net.Socket's `onread`),
// lets the protocol open the conversation (the tcp mesh's hello record; the websocket mesh's
// upgrade request, then its hello), and waits for the welcome. A refusal carries the acceptor's
// close code and reason into the error, as a WebSocket close would.
import { connect, type Socket } from 'node:net';
import { systemError, timeoutError } from '../../errors.js';
import type { Hello } from '../handshake/handshake.js';
import type { StreamReader } from './record-sink.js';

export interface MeshDialOptions<Reader> {
  /** host:port, IPv6 hosts in brackets (as published in the store). */
  readonly address: string;
  readonly hello: Hello;
  readonly timeoutMs: number;
  /** Names the caller in errors, e.g. 'rank 2 dialling rank 0'. */
  readonly who: string;
  /**
   * Takes over the welcomed connection. Called synchronously on the welcome, because frames may
   * follow it in the same read: it must give the reader its sink before returning.
   */
  readonly adopt: (socket: Socket, reader: Reader) => void;
}

/** How the dial ends, as the protocol's reader finds out. */
export interface DialOutcome {
  welcomed(): void;
  refused(code: number, reason: string): void;
  /** The acceptor answered with something that is neither a welcome nor a refusal. */
  notWelcomed(): void;
  /** The connection cannot go on, for the reason given (e.g. its upgrade was refused). */
  failed(detail: string): void;
}

/** A protocol's side of a dial: its reader (which reports to `outcome`), and its first bytes. */
export interface DialProtocol<Reader extends StreamReader> {
  reader(socket: () => Socket, outcome: DialOutcome): Reader;
  opened(socket: Socket): void;
}

export function dialMesh<Reader extends StreamReader>(options: MeshDialOptions<Reader>, protocol: DialProtocol<Reader>): Promise<void> {
  const { address, who } = options;
  const { host, port } = splitAddress(address);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!error) return resolve();
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => settle(timeoutError(`${who}: no welcome from ${address} within ${options.timeoutMs} ms`)), options.timeoutMs);
    const reader = protocol.reader(() => socket, {
      welcomed: () => {
        options.adopt(socket, reader);
        settle();
      },
      refused: (code, reason) => settle(systemError(`${who}: ${address} refused the connection (${code}${reason ? `: ${reason}` : ''})`)),
      notWelcomed: () => settle(systemError(`${who}: ${address} answered the hello with something other than a welcome`)),
      failed: (detail) => settle(systemError(`${who}: ${address} ${detail}`)),
    });
    const socket = connect({ host, port, onread: { buffer: () => reader.nextBuffer(), callback: (bytes) => { reader.arrived(bytes); return true; } } });
    socket.setNoDelay(true);
    socket.once('connect', () => protocol.opened(socket));
    socket.on('error', (error) => settle(systemError(`${who}: cannot connect to ${address}: ${error.message}`, error)));
    socket.once('close', () => settle(systemError(`${who}: ${address} closed the connection before answering the hello`)));
  });
}

/** host and port of `address` (host:port, IPv6 hosts in brackets); throws a SystemError when it is not that. */
function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  if (!match) throw systemError(`'${address}' is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}
