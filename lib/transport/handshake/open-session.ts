// Opens a WebSocket to a webccl server and performs the hello handshake. Platform-neutral: the
// WebSocket constructor is injected. Handlers for the session are installed before the socket
// opens, because messages may follow the welcome in the same network read, before any promise
// continuation could attach a listener.
import { systemError, timeoutError } from '../../errors.js';
import { WELCOME, type Hello } from './handshake.js';
import type { WebSocketConstructor, WebSocketLike } from './web-socket-like.js';

export interface SessionOptions {
  readonly WebSocket: WebSocketConstructor;
  readonly url: string;
  readonly hello: Hello;
  readonly timeoutMs: number;
  /** Names the caller in errors, e.g. 'rank 2 store client'. */
  readonly who: string;
  /** 'arraybuffer' (the default, what browsers can do) or, with `ws` in Node, 'nodebuffer'. */
  readonly binaryType?: string;
  /** Every message after the welcome. */
  readonly onMessage: (data: unknown) => void;
  /** The socket closed after the welcome (code and reason as the peer or the stack gave them). */
  readonly onClose: (code: number, reason: string) => void;
}

/** Failures to reach the server at all (nothing listening yet), as opposed to a refusal. */
const unreachable = new WeakSet<Error>();

export function isUnreachable(error: unknown): boolean {
  return error instanceof Error && unreachable.has(error);
}

export function openSession(options: SessionOptions): Promise<WebSocketLike> {
  const { url, who } = options;
  return new Promise((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = new options.WebSocket(url);
    } catch (error) {
      reject(systemError(`${who}: cannot open ${url}`, error));
      return;
    }
    socket.binaryType = options.binaryType ?? 'arraybuffer';
    let welcomed = false;
    let failed = false;
    const fail = (error: Error) => {
      if (welcomed || failed) return;
      failed = true;
      clearTimeout(timer);
      socket.close();
      reject(error);
    };
    const timer = setTimeout(() => fail(timeoutError(`${who}: no welcome from ${url} within ${options.timeoutMs} ms`)), options.timeoutMs);
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      socket.send(JSON.stringify(options.hello));
    });
    socket.addEventListener('message', (event) => {
      if (welcomed) return options.onMessage(event.data);
      if (event.data !== WELCOME) return fail(systemError(`${who}: ${url} answered the hello with something other than a welcome`));
      welcomed = true;
      clearTimeout(timer);
      resolve(socket);
    });
    socket.addEventListener('error', (event) => {
      if (welcomed) return;
      const error = systemError(`${who}: cannot connect to ${url}${event.message ? `: ${event.message}` : ''}`);
      if (!opened) unreachable.add(error);
      fail(error);
    });
    socket.addEventListener('close', (event) => {
      const code = event.code ?? 1006;
      const reason = event.reason ?? '';
      if (welcomed) return options.onClose(code, reason);
      fail(systemError(`${who}: ${url} refused the connection (${code}${reason ? `: ${reason}` : ''})`));
    });
  });
}
