// The dialling side of a websocket mesh connection: connects (reading through a WebSocketReader
// from the first byte), asks for the upgrade, sends the hello as a text message once the server
// has accepted it, and waits for the welcome. A refusal is the acceptor's close frame: its code
// and reason go into the error, as with any WebSocket.
import { connect, type Socket } from 'node:net';
import { systemError, timeoutError } from '../../errors.js';
import { WELCOME, type Hello } from '../handshake/handshake.js';
import { splitAddress } from '../mesh/address.js';
import { handshakeKey, OPCODE, upgradeRefusal, upgradeRequest, wholeFrame } from './rfc6455.js';
import { WebSocketReader } from './ws-reader.js';

export interface WebSocketDialOptions {
  /** host:port, IPv6 hosts in brackets (as published in the store). */
  readonly address: string;
  readonly hello: Hello;
  readonly timeoutMs: number;
  /** The most payload bytes a data frame from the acceptor may carry. */
  readonly maxFramePayload: number;
  /** Names the caller in errors, e.g. 'rank 2 dialling rank 0'. */
  readonly who: string;
  /**
   * Takes over the welcomed connection. Called synchronously on the welcome, because frames may
   * follow it in the same read: it must give the reader its sink before returning.
   */
  readonly adopt: (socket: Socket, reader: WebSocketReader) => void;
}

export function dialWebSocket(options: WebSocketDialOptions): Promise<void> {
  const { address, who } = options;
  const { host, port } = splitAddress(address);
  const key = handshakeKey();
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
    const notWelcomed = () => settle(systemError(`${who}: ${address} answered the hello with something other than a welcome`));
    const reader = new WebSocketReader({
      role: 'client',
      maxFramePayload: options.maxFramePayload,
      head: (text) => {
        const refusal = upgradeRefusal(text, key);
        if (refusal) {
          settle(systemError(`${who}: ${address} ${refusal}`));
          return false;
        }
        socket.write(wholeFrame(OPCODE.text, new TextEncoder().encode(JSON.stringify(options.hello)), true));
        return true;
      },
    });
    reader.sink = {
      text: (text) => {
        if (text !== WELCOME) return notWelcomed();
        options.adopt(socket, reader);
        settle();
      },
      frameHead: () => {
        notWelcomed();
        return undefined;
      },
      framePayload: () => {},
      garbage: notWelcomed,
      ping: () => {},
      closing: (code, reason) => settle(systemError(`${who}: ${address} refused the connection (${code}${reason ? `: ${reason}` : ''})`)),
    };
    const socket = connect({ host, port, onread: { buffer: () => reader.nextBuffer(), callback: (bytes) => { reader.arrived(bytes); return true; } } });
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write(upgradeRequest(address, key)));
    socket.on('error', (error) => settle(systemError(`${who}: cannot connect to ${address}: ${error.message}`, error)));
    socket.once('close', () => settle(systemError(`${who}: ${address} closed the connection before answering the hello`)));
  });
}
