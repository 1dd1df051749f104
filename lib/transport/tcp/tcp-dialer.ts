// The dialling side of a tcp mesh connection: connects (reading through a RecordReader from the
// first byte), sends the hello as a text record, and waits for the welcome. A refusal carries
// the acceptor's close code and reason into the error, as a WebSocket close would.
import { connect, type Socket } from 'node:net';
import { systemError, timeoutError } from '../../errors.js';
import { splitAddress } from '../mesh/address.js';
import { WELCOME, type Hello } from '../handshake/handshake.js';
import { RecordReader } from './record-reader.js';
import { encodeTextRecord, parseClosing } from './text-record.js';

export interface TcpDialOptions {
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
  readonly adopt: (socket: Socket, reader: RecordReader) => void;
}

export function dialTcp(options: TcpDialOptions): Promise<void> {
  const { address, who } = options;
  const { host, port } = splitAddress(address);
  const reader = new RecordReader();
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
    reader.sink = {
      text: (text) => {
        if (text === WELCOME) {
          options.adopt(socket, reader);
          return settle();
        }
        const refused = parseClosing(text, 'refused');
        if (!refused) return notWelcomed();
        settle(systemError(`${who}: ${address} refused the connection (${refused.code}${refused.reason ? `: ${refused.reason}` : ''})`));
      },
      frameHead: () => {
        notWelcomed();
        return undefined;
      },
      framePayload: () => {},
      garbage: notWelcomed,
    };
    const socket = connect({ host, port, onread: { buffer: () => reader.nextBuffer(), callback: (bytes) => { reader.arrived(bytes); return true; } } });
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write(encodeTextRecord(JSON.stringify(options.hello))));
    socket.on('error', (error) => settle(systemError(`${who}: cannot connect to ${address}: ${error.message}`, error)));
    socket.once('close', () => settle(systemError(`${who}: ${address} closed the connection before answering the hello`)));
  });
}
