// A minimal Chrome DevTools Protocol client over the `ws` package: commands with ids and a
// deadline each, events to listeners, and flattened sessions (one socket for every tab), which is
// all the browser tests need. Playwright and puppeteer would do this too, at 100x the install.
import { WebSocket } from 'ws';
import { within } from '../within.js';

export type CdpParams = Record<string, unknown>;
export type CdpListener = (method: string, params: CdpParams, sessionId: string | undefined) => void;

interface Pending {
  readonly method: string;
  resolve(result: CdpParams): void;
  reject(error: Error): void;
}

interface CdpMessage {
  readonly id?: number;
  readonly method?: string;
  readonly params?: CdpParams;
  readonly result?: CdpParams;
  readonly error?: { readonly code: number; readonly message: string };
  readonly sessionId?: string;
}

export class CdpClient {
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<CdpListener>();
  private nextId = 1;
  private closedBecause: Error | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.onMessage(String(data)));
    socket.on('close', () => this.failAll(new Error('CDP connection closed')));
    socket.on('error', (error) => this.failAll(new Error(`CDP connection failed: ${error.message}`)));
  }

  static async connect(url: string, timeoutMs: number): Promise<CdpClient> {
    // Results such as a tab's whole allReduce output can be megabytes: no payload cap.
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
    const opened = new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    try {
      await within(opened, timeoutMs, `CDP connection to ${url}`);
    } catch (error) {
      socket.terminate();
      throw error;
    }
    return new CdpClient(socket);
  }

  /** Sends a command (to a tab's session when sessionId is given) and resolves with its result. */
  send<T = CdpParams>(method: string, params: CdpParams, timeoutMs: number, sessionId?: string): Promise<T> {
    if (this.closedBecause) return Promise.reject(this.closedBecause);
    const id = this.nextId++;
    const reply = new Promise<CdpParams>((resolve, reject) => this.pending.set(id, { method, resolve, reject }));
    this.socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return within(reply, timeoutMs, `CDP ${method}`).finally(() => this.pending.delete(id)) as Promise<T>;
  }

  /** Calls `listener` with every event; returns the function that stops it. */
  listen(listener: CdpListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.socket.terminate();
  }

  private onMessage(text: string): void {
    const message = JSON.parse(text) as CdpMessage;
    if (message.id === undefined) {
      if (message.method) for (const listener of this.listeners) listener(message.method, message.params ?? {}, message.sessionId);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.error) pending.reject(new Error(`CDP ${pending.method}: ${message.error.message} (${message.error.code})`));
    else pending.resolve(message.result ?? {});
  }

  private failAll(error: Error): void {
    this.closedBecause ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
