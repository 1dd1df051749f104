// The client of the rendezvous store (like torch.distributed.TCPStore): set, get (waits for the
// key), wait, add. Platform-neutral: the WebSocket constructor is injected (Node 20 has none).
import { WebcclError, invalidArgument, invalidUsage, systemError, timeoutError } from '../errors.js';
import { logger } from '../log.js';
import { isUnreachable, openSession } from '../transport/handshake/open-session.js';
import { base64ToBytes, bytesToBase64, type StoreReply, type StoreRequest } from './store-protocol.js';
import { parseUniqueId, rendezvousUrl } from './unique-id.js';
import { globalWebSocket, type WebSocketConstructor, type WebSocketLike } from '../transport/handshake/web-socket-like.js';

export interface StoreClientOptions {
  /** The unique id (webccl://host:port/secret) naming the server and its secret. */
  readonly id: string;
  /** Defaults to the global WebSocket; in Node 20 pass the `ws` package's (see nodeWebSocket). */
  readonly WebSocket?: WebSocketConstructor;
  /** Connect timeout, and the default for get/wait. */
  readonly timeoutMs: number;
  /** Names this client in errors and logs, e.g. 'rank 3'. */
  readonly who?: string;
}

type Request = StoreRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(reply: StoreReply): void;
  reject(error: Error): void;
}

export class StoreClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedBy: WebcclError | undefined;
  private socket!: WebSocketLike;
  private readonly log;

  private constructor(private readonly who: string, private readonly timeoutMs: number) {
    this.log = logger('STORE');
  }

  static async connect(options: StoreClientOptions): Promise<StoreClient> {
    const parsed = parseUniqueId(options.id);
    const WebSocket = options.WebSocket ?? globalWebSocket();
    if (!WebSocket) throw invalidArgument('store client: no global WebSocket here; pass one (in Node: nodeWebSocket())');
    const url = rendezvousUrl(parsed);
    const who = `${options.who ?? 'client'} of store ${parsed.host}:${parsed.port}`;
    const client = new StoreClient(who, options.timeoutMs);
    // Like torch's TCPStore clients, keep knocking while nothing listens yet: under torchrun-style
    // launches rank 0 starts the server at the same time as the others start connecting.
    const deadline = Date.now() + options.timeoutMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 500)) {
      try {
        client.socket = await openSession({
          WebSocket, url, who, timeoutMs: Math.max(1, deadline - Date.now()),
          hello: { t: 'hello', secret: parsed.secret, role: 'store' },
          onMessage: (data) => client.onReply(data),
          onClose: (code, reason) => client.fail(systemError(`${who}: connection closed (${code}${reason ? `: ${reason}` : ''})`)),
        });
        return client;
      } catch (error) {
        if (!isUnreachable(error) || Date.now() + pause >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  async set(key: string, value: Uint8Array | string): Promise<void> {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    await this.request({ t: 'set', key, value: bytesToBase64(bytes) }, this.timeoutMs, `set('${key}')`);
  }

  /** The value of `key`, waiting until some client sets it. */
  async get(key: string, timeoutMs = this.timeoutMs): Promise<Uint8Array> {
    const reply = await this.request({ t: 'get', key }, timeoutMs, `get('${key}')`);
    if (reply.t !== 'value') throw systemError(`${this.who}: get('${key}') got a '${reply.t}' reply`);
    return base64ToBytes(reply.value);
  }

  async getString(key: string, timeoutMs = this.timeoutMs): Promise<string> {
    return new TextDecoder().decode(await this.get(key, timeoutMs));
  }

  /** Resolves once every key is present. */
  async wait(keys: readonly string[], timeoutMs = this.timeoutMs): Promise<void> {
    await this.request({ t: 'wait', keys }, timeoutMs, `wait(${keys.map((k) => `'${k}'`).join(', ')})`);
  }

  /** Adds `n` to the counter at `key` (created at 0) and returns the new value. */
  async add(key: string, n: number): Promise<number> {
    if (!Number.isSafeInteger(n)) throw invalidArgument(`${this.who}: add('${key}', ${n}): n must be a safe integer`);
    const reply = await this.request({ t: 'add', key, n }, this.timeoutMs, `add('${key}')`);
    if (reply.t !== 'number') throw systemError(`${this.who}: add('${key}') got a '${reply.t}' reply`);
    return reply.value;
  }

  close(): void {
    this.fail(systemError(`${this.who}: closed`));
  }

  private request(body: Request, timeoutMs: number, what: string): Promise<StoreReply> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(timeoutError(`${this.who}: ${what} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (reply) => {
          clearTimeout(timer);
          if (reply.t === 'error') reject(invalidUsage(`${this.who}: ${what}: ${reply.message}`));
          else resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.send(JSON.stringify({ ...body, id }));
    });
  }

  private onReply(data: unknown): void {
    let reply: StoreReply;
    try {
      reply = JSON.parse(String(data)) as StoreReply;
    } catch {
      this.log.warn(`${this.who}: ignoring a reply that is not JSON`);
      return;
    }
    // A reply to a request that already timed out finds no one waiting: dropped on purpose.
    const waiter = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    waiter?.resolve(reply);
  }

  private fail(error: WebcclError): void {
    if (this.closedBy) return;
    this.closedBy = error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    this.socket?.close();
  }
}
