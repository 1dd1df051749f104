// The software switch (Node): SwitchML's data plane on a UDP socket, and the control plane
// (join, welcome, refusal, end of job) on a TCP listener with the same port number. Every
// datagram is looked up by its sender's address: only a worker of a running job reaches that
// job's slots, and everything else is dropped and counted, never thrown.
// Bounded before authentication: a control connection may hold one line of MAX_LINE_BYTES
// and must join within `helloTimeoutMs`; at most MAX_UNJOINED connections wait at once.
// With `webSocketPort`, a WebSocket door as well (for browsers and ranks without UDP): the join
// is the connection's hello (lib/transport/handshake: an upgrade-only HTTP server with short
// timeouts, the door's byte cap before the hello, the hello gate's secret check and deadline),
// the welcome and 'ended' are text messages, and packets are binary messages, byte for byte the
// datagrams. Both kinds of worker feed the same data plane, so one job may mix them; anything
// else on an admitted WebSocket (text, a packet before the job starts) is dropped and counted.
// The UDP side is a UdpDoor: the native data plane (native-door.ts: the addon's socket, thread
// and rules; no datagram reaches JS) when the addon has it, else the TypeScript one (udp-door.ts,
// data-plane.ts), which stays the oracle and the fallback. A job's WebSocket workers share its
// state with either (native: through a synchronous call into the same slots).
// With `parent`, a leaf of a two-level tree: a job whose workers ask for an uplink joins the
// root as one member once its own workers have, and its completed slots go up and the root's
// results come down (leaf-uplink.ts); other jobs stay local.
// A leaf runs the TypeScript plane: its verdicts pass through the uplink's route() in JS.
import type { RemoteInfo } from 'node:dgram';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from '../transport/handshake/ws-package.js';
import { detailOf, systemError } from '../errors.js';
import { logger, type Logger } from '../log.js';
import { CLOSE_BAD_HELLO, sameSecret } from '../transport/handshake/handshake.js';
import { awaitHello, MAX_UNADMITTED_BYTES, type HelloGate, type Refusal } from '../transport/handshake/hello-gate.js';
import { guardListener } from '../transport/handshake/listener-guards.js';
import { PendingHellos } from '../transport/handshake/pending-hellos.js';
import { listenForUpgrades } from '../transport/handshake/upgrade-server.js';
import { webSocketDoor } from '../transport/handshake/web-socket-door.js';
import { WS_SOCKET_OPTIONS } from '../transport/handshake/ws-options.js';
import { checkJoin, LineSplitter, parseJoin, type Join, type SwitchMessage } from './control-protocol.js';
import { nativeAddon, loadNative } from '../native/load.js';
import { readSettings } from '../settings.js';
import { MAX_WORKERS, type JobCounters, type JobPlane } from './data-plane.js';
import { FaultInjector, type FaultCounters, type FaultOptions } from './faults.js';
import { JobTable, udpAddressKey, type Job } from './job-table.js';
import { LeafUplink, type UplinkCounters } from './leaf-uplink.js';
import { NativeUdpDoor, nativePlaneMissing } from './native-door.js';
import { chooseMulticast, parseMulticastMode, reserveGroupPort, type MulticastMode } from './multicast.js';
import { MAX_SIZE_CLASS, packetBytes, SWITCH_PORT } from './packet.js';
import { TypeScriptUdpDoor, type DataPlaneKind, type UdpDoor, type UdpOffloadCounters } from './udp-door.js';

export const DEFAULT_SWITCH_SLOTS = 4096;
const MAX_UNJOINED = 256;
const FINISHED_KEPT = 64;

export interface SwitchServerOptions {
  readonly host?: string;
  /** TCP (control) and UDP (data) port; 0 picks a free one. Default 48864 (0xBEE0). */
  readonly port?: number;
  readonly slots?: number;
  readonly maxWorkers?: number;
  /** 32 hex digits every worker must present; random when absent. */
  readonly secret?: string;
  readonly helloTimeoutMs?: number;
  readonly faults?: FaultOptions;
  /** Also a WebSocket door on this port (0: a free one); none when absent. */
  readonly webSocketPort?: number;
  /**
   * Which data plane serves UDP packets: 'native' (the addon's; an error when it is
   * unavailable), 'js' (the TypeScript one), or 'auto' (native when available). Default 'auto'.
   * A leaf (`parent`) runs the TypeScript plane: 'auto' takes it, 'native' is refused.
   */
  readonly dataPlane?: DataPlaneKind | 'auto';
  /**
   * Makes this switch a leaf: jobs whose workers ask for an uplink are forwarded to the root
   * switch at `address` (its control and UDP port), admitted with `secret`. A leaf's jobs run
   * on the TypeScript data plane (see `dataPlane`). `retransmitMs` (default 10) is the first wait before an
   * upward packet is sent again; `timeoutMs` (default WEBCCL_TIMEOUT_MS) bounds joining the
   * root and a silent root.
   */
  readonly parent?: { readonly address: string; readonly secret: string; readonly retransmitMs?: number; readonly timeoutMs?: number };
  /**
   * false: welcomes do not offer exponents-only packets (packet.ts), so workers send every
   * packet full, as to SwitchML's hardware (tests of that path); the data plane still takes
   * them. Default true.
   */
  readonly exponentsOnly?: boolean;
  /**
   * How a job's results reach its UDP workers (multicast.ts): 'auto' (default: one send to a
   * group when the workers share the switch's host and can join), 'on', 'off' (one send per
   * worker). Default WEBCCL_SWITCH_MULTICAST, else 'auto'.
   */
  readonly multicast?: MulticastMode;
}

/**
 * A WebSocket another server's door accepted (the `ws` package's, which the switch's declared
 * types do not name: a consumer's program need not have `ws` types).
 */
export interface AcceptedWebSocket {
  readonly readyState: number;
  send(data: string): void;
  terminate(): void;
}

/** A worker's connection to the switch, TCP control (packets by UDP) or WebSocket (packets too). */
interface WorkerConn {
  tell(message: SwitchMessage): void;
  /** Says `message`, then closes. */
  finish(message: SwitchMessage): void;
  destroy(): void;
  /** Sends a packet on the connection itself (WebSocket workers); UDP workers have none. */
  readonly data?: (bytes: Uint8Array) => void;
}

export interface JobReport extends JobCounters {
  readonly world: string;
  readonly job: number;
  readonly workers: number;
  readonly running: boolean;
  /** A leaf's forwarding of the job to its root. */
  readonly uplink?: UplinkCounters;
  /** How its results left: once to its multicast group ('group:port'), or once per worker (multicast.ts). */
  readonly results: { readonly kind: 'multicast'; readonly group: string } | { readonly kind: 'unicast'; readonly reason: string };
}

export interface SwitchCounters {
  /** Which data plane served the UDP packets. */
  readonly dataPlane: DataPlaneKind;
  readonly datagrams: number;
  /** Messages on admitted WebSocket connections (packets, and garbage). */
  readonly webSocketMessages: number;
  /** Datagrams from an address that is no running job's worker. */
  readonly strangers: number;
  /** Control connections refused (bad hello, wrong secret, job does not fit, garbage). */
  readonly refusedConnections: number;
  readonly faults: FaultCounters;
  /** The native data plane's UDP batching (absent on the TypeScript plane). */
  readonly offload?: UdpOffloadCounters;
  readonly jobs: JobReport[];
}

export class SwitchServer {
  private readonly log = logger('SWITCH');
  private readonly table: JobTable<WorkerConn>;
  private readonly faults: FaultInjector;
  private readonly unjoined = new Set<Socket>();
  private readonly connOf = new WeakMap<Socket, WorkerConn>();
  private webSockets: { http: HttpServer; server: WebSocketServer; gate: HelloGate } | undefined;
  private nextWebSocket = 0;
  private webSocketMessages = 0;
  private readonly finished: JobReport[] = [];
  private readonly jobOfPlane = new WeakMap<JobPlane, Job<WorkerConn>>();
  /** Messages on a WebSocket whose job has not started or has ended (UDP strangers are the door's). */
  private webSocketStrangers = 0;
  private refusedConnections = 0;
  private closed = false;

  private constructor(
    private readonly tcp: Server,
    private readonly door: UdpDoor,
    readonly host: string,
    readonly port: number,
    readonly secret: string,
    private readonly helloTimeoutMs: number,
    limits: { slots: number; maxWorkers: number; exponentsOnly: boolean },
    faults: FaultInjector,
    private readonly parent: SwitchServerOptions['parent'],
    multicast: MulticastMode,
    private readonly groupPort: { port: number; release(): void } | undefined,
  ) {
    this.table = new JobTable<WorkerConn>(limits, () => port, door.planes, (number, members) => chooseMulticast(multicast, number, members, host, groupPort?.port));
    this.faults = faults;
    tcp.on('error', (error) => this.log.warn(`control listener: ${error.message}`));
    tcp.on('connection', (socket) => this.accept(socket));
    if (door instanceof TypeScriptUdpDoor) door.onDatagram((msg, rinfo) => this.onDatagram(msg, rinfo));
  }

  get dataPlane(): DataPlaneKind {
    return this.door.kind;
  }

  static async start(options: SwitchServerOptions = {}): Promise<SwitchServer> {
    const host = options.host ?? '127.0.0.1';
    const slots = options.slots ?? DEFAULT_SWITCH_SLOTS;
    const maxWorkers = options.maxWorkers ?? MAX_WORKERS;
    if (!Number.isInteger(slots) || slots < 1 || slots > 0x8000) throw systemError(`switch: --slots ${slots} is not in [1, 32768] (the pool index has 15 bits)`);
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1 || maxWorkers > MAX_WORKERS) throw systemError(`switch: --max-workers ${maxWorkers} is not in [1, ${MAX_WORKERS}] (the worker bitmap is ${MAX_WORKERS} bits wide)`);
    const faults = new FaultInjector(options.faults); // validates the probabilities before binding
    const log = logger('SWITCH');
    const kind = chooseDataPlane(options.dataPlane ?? 'auto', options.parent !== undefined, log);
    const multicast = options.multicast ?? parseMulticastMode(process.env.WEBCCL_SWITCH_MULTICAST, 'WEBCCL_SWITCH_MULTICAST');
    let server: SwitchServer | undefined;
    const onNativeResult = (plane: JobPlane, bytes: Uint8Array) => server?.onNativeResult(plane, bytes);
    const { tcp, door, port } = await bindPair(host, options.port ?? SWITCH_PORT, (udpPort) => kind === 'native'
      ? Promise.resolve(NativeUdpDoor.bind(nativeAddon()!, host, udpPort, options.faults ?? {}, onNativeResult))
      : TypeScriptUdpDoor.bind(host, udpPort, faults, log));
    const secret = options.secret ?? randomBytes(16).toString('hex');
    const groupPort = kind === 'native' && multicast !== 'off' ? await reserveGroupPort() : undefined;
    server = new SwitchServer(tcp, door, host, port, secret, options.helloTimeoutMs ?? 10_000, { slots, maxWorkers, exponentsOnly: options.exponentsOnly ?? true }, faults, options.parent, multicast, groupPort);
    if (options.webSocketPort !== undefined) {
      try {
        await server.openWebSocketDoor(options.webSocketPort);
      } catch (error) {
        await server.close();
        throw error;
      }
    }
    server.log.info(`listening on ${host}:${port} (tcp control, udp data on the ${kind === 'native' ? 'native' : 'TypeScript'} data plane)${server.webSocketUrl ? `, ${server.webSocketUrl} (websocket)` : ''}, ${slots} slots, at most ${maxWorkers} workers per job${options.parent ? `, leaf of ${options.parent.address}` : ''}`);
    return server;
  }

  /** The WebSocket door's URL, when it has one. */
  get webSocketUrl(): string | undefined {
    if (this.webSockets === undefined) return undefined;
    const { port } = this.webSockets.http.address() as { port: number };
    return `ws://${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`;
  }

  private async openWebSocketDoor(port: number): Promise<void> {
    const http = await listenForUpgrades(this.host, port, (error) => systemError(`switch: cannot listen on websocket ${this.host}:${port}: ${error.message}`, error));
    // Admitted peers send packets (the largest size class); strangers are capped by the door.
    const server = new WebSocketServer({ ...WS_SOCKET_OPTIONS, server: http, maxPayload: Math.max(packetBytes(MAX_SIZE_CLASS), MAX_UNADMITTED_BYTES) });
    guardListener(http, server, 'switch: websocket door', this.log);
    const gate: HelloGate = { secret: this.secret, timeoutMs: this.helloTimeoutMs, log: this.log, refusing: 'switch: refusing a websocket worker', pending: new PendingHellos() };
    this.webSockets = { http, server, gate };
    server.on('connection', (socket, request) => this.acceptWebSocket(socket, request, gate));
  }

  get address(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  counters(): SwitchCounters {
    const running = [...this.table.jobs].filter((job) => job.plane !== undefined).map((job) => report(job, true));
    const udp = this.door.counters();
    const mine = this.faults.counters;
    return {
      dataPlane: this.door.kind, datagrams: udp.datagrams, webSocketMessages: this.webSocketMessages, strangers: udp.strangers + this.webSocketStrangers, refusedConnections: this.refusedConnections,
      faults: { dropped: mine.dropped + udp.faults.dropped, duplicated: mine.duplicated + udp.faults.duplicated, reordered: mine.reordered + udp.faults.reordered },
      ...(udp.offload ? { offload: udp.offload } : {}),
      jobs: [...this.finished, ...running],
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.faults.clear();
    this.groupPort?.release();
    for (const socket of this.unjoined) socket.destroy();
    for (const job of [...this.table.jobs]) {
      job.uplink?.close();
      for (const member of job.members.values()) member.conn.destroy();
    }
    const ws = this.webSockets;
    if (ws) for (const socket of ws.server.clients) socket.terminate();
    await Promise.all([
      ws && new Promise<void>((done) => ws.server.close(() => ws.http.close(() => done()))),
      new Promise<void>((done) => this.tcp.close(() => done())),
      this.door.close(),
    ]);
  }

  /** A datagram on the TypeScript door; false when its sender is no running job's worker. */
  private onDatagram(msg: Buffer, rinfo: RemoteInfo): boolean {
    const sender = this.table.sender(udpAddressKey(rinfo.address, rinfo.port));
    if (sender === undefined) return false;
    this.onPacket(sender, msg, (bytes) => this.door.send(bytes, rinfo.address, rinfo.port));
    return true;
  }

  /** A result the native plane completed from a UDP packet, for the job's WebSocket workers. */
  private onNativeResult(plane: JobPlane, bytes: Uint8Array): void {
    const job = this.jobOfPlane.get(plane);
    if (job !== undefined) this.toWebSockets(job, bytes);
  }

  private toWebSockets(job: Job<WorkerConn>, bytes: Uint8Array): void {
    for (const member of job.members.values()) {
      const { data } = member.conn;
      if (data) this.faults.pass(() => data(bytes));
    }
  }

  /** A message on an admitted WebSocket: a packet of its job once that runs; else garbage. */
  private onWebSocketMessage(key: string, data: Buffer, isBinary: boolean): void {
    this.webSocketMessages++;
    const sender = this.table.sender(key);
    if (sender === undefined) {
      this.webSocketStrangers++;
      return;
    }
    if (!isBinary) {
      sender.job.plane!.malformed('a text message after the join');
      return;
    }
    const conn = sender.job.members.get(sender.worker)!.conn;
    this.onPacket(sender, data, (bytes) => this.faults.pass(() => conn.data!(bytes)));
  }

  /** A packet of a running job's worker, by any transport; `reply` answers that worker alone. */
  private onPacket(sender: { job: Job<WorkerConn>; worker: number }, msg: Uint8Array, reply: (bytes: Uint8Array) => void): void {
    const { job, worker } = sender;
    let verdict = job.plane!.receiveBytes(worker, msg);
    if (job.uplink) verdict = job.uplink.route(verdict);
    if (verdict.kind === 'multicast') this.multicast(job, verdict.bytes);
    else if (verdict.kind === 'unicast') reply(verdict.bytes);
    else if (verdict.kind === 'drop' && this.log.traceEnabled) this.log.trace(`job ${job.number} worker ${worker}: dropped (${verdict.reason})`);
  }

  /** A result for every worker of the job: the native door has sent it to the UDP ones already. */
  private multicast(job: Job<WorkerConn>, bytes: Uint8Array): void {
    this.toWebSockets(job, bytes);
    if (!this.door.sendsMulticasts) for (const member of job.members.values()) if (member.via === 'udp') this.door.send(bytes, member.host, member.port);
  }

  private accept(socket: Socket): void {
    socket.on('error', (error) => this.log.trace(`control connection: ${error.message}`));
    if (this.closed || this.unjoined.size >= MAX_UNJOINED) {
      socket.destroy();
      return;
    }
    this.unjoined.add(socket);
    this.connOf.set(socket, {
      tell: (message) => socket.write(line(message)),
      finish: (message) => socket.end(line(message)),
      destroy: () => socket.destroy(),
    });
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    let joined = false;
    const refuse = (reason: string) => {
      this.refusedConnections++;
      this.log.warn(`refusing ${peer}: ${reason}`);
      this.unjoined.delete(socket);
      socket.end(line({ t: 'refused', reason }));
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const timer = setTimeout(() => refuse(`no hello within ${this.helloTimeoutMs} ms`), this.helloTimeoutMs);
    const splitter = new LineSplitter((text) => {
      if (joined) return void this.log.trace(`${peer}: ignoring a line after the join`);
      clearTimeout(timer);
      joined = true;
      this.onJoin(socket, text, refuse);
    }, () => {
      clearTimeout(timer);
      if (!joined) refuse('line too long');
      else socket.destroy();
    });
    socket.on('data', (chunk: string) => splitter.push(chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      this.unjoined.delete(socket);
      this.onLeave(this.connOf.get(socket)!);
    });
  }

  private acceptWebSocket(socket: WebSocket, request: IncomingMessage, gate: HelloGate): void {
    const peer = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    if (this.closed) return void socket.terminate();
    const door = webSocketDoor(socket, request.socket, `switch: websocket connection from ${peer}`, this.log);
    const refuseDoor = door.refuse;
    door.refuse = (refusal) => {
      this.refusedConnections++;
      refuseDoor(refusal);
    };
    awaitHello(door, gate, (hello) => this.joinWebSocket(socket, request, hello));
  }

  /**
   * Another server's WebSocket door (`webccl serve --switch`: the rendezvous server's) took a
   * connection whose hello is a switch join and checked the secret: it becomes a worker here,
   * or gets the refusal to close with.
   */
  admitWebSocket(socket: AcceptedWebSocket, request: IncomingMessage, hello: unknown): Refusal | undefined {
    const refusal = this.closed ? { code: CLOSE_BAD_HELLO, reason: 'the switch is closed' } : this.joinWebSocket(socket as WebSocket, request, hello);
    if (refusal) this.refusedConnections++;
    return refusal;
  }

  private joinWebSocket(socket: WebSocket, request: IncomingMessage, hello: unknown): Refusal | undefined {
    let join;
    try {
      join = checkJoin(hello);
    } catch (error) {
      return { code: CLOSE_BAD_HELLO, reason: detailOf(error) };
    }
    if (join.via !== 'websocket') return { code: CLOSE_BAD_HELLO, reason: "a join on the websocket door says via: 'websocket'" };
    const uplinkRefusal = this.uplinkRefusal(join);
    if (uplinkRefusal !== undefined) return { code: CLOSE_BAD_HELLO, reason: uplinkRefusal };
    const key = `websocket#${this.nextWebSocket++}`;
    const conn: WorkerConn = {
      tell: (message) => socket.send(JSON.stringify(message)),
      finish: (message) => {
        socket.send(JSON.stringify(message));
        socket.close(1000, 'job ended');
      },
      destroy: () => socket.terminate(),
      data: (bytes) => { if (socket.readyState === socket.OPEN) socket.send(bytes); },
    };
    const outcome = this.table.join(join, request.socket.remoteAddress ?? '', conn, key);
    if (outcome.kind === 'refused') return { code: CLOSE_BAD_HELLO, reason: outcome.reason };
    socket.on('message', (data, isBinary) => this.faults.pass(() => this.onWebSocketMessage(key, data as Buffer, isBinary)));
    socket.on('close', () => this.onLeave(conn));
    if (outcome.kind === 'started') this.started(outcome.job, outcome.welcomes);
    return undefined;
  }

  private started(job: Job<WorkerConn>, welcomes: ReadonlyArray<{ conn: WorkerConn; welcome: SwitchMessage }>): void {
    this.jobOfPlane.set(job.plane!, job);
    const choice = job.multicast;
    if (choice?.kind === 'refused') return this.endJob(job, 'refused', choice.reason);
    if (choice !== undefined) {
      this.log.info(`job '${job.world}': results ${choice.kind === 'multicast' ? `by multicast to ${choice.group.group}:${choice.group.port} from ${choice.group.via}` : `by unicast to each worker (${choice.reason})`}`);
    }
    if (job.uplinkSpec === undefined) return this.welcome(job, welcomes);
    // A leaf's workers are welcomed once the root has welcomed the leaf (or refused with its reason).
    this.openUplink(job).then(() => {
      if (job.released) job.uplink?.close();
      else this.welcome(job, welcomes);
    }, (error: unknown) => {
      if (!job.released) this.endJob(job, 'refused', `the root switch ${this.parent?.address}: ${detailOf(error)}`);
    });
  }

  private async openUplink(job: Job<WorkerConn>): Promise<void> {
    const parent = this.parent!;
    const { openUdpLink } = await import('./udp-link.js');
    const timeoutMs = parent.timeoutMs ?? readSettings().timeoutMs;
    const name = `root switch ${parent.address}`;
    const opened = await openUdpLink(parent.address, {
      t: 'hello', role: 'switch', secret: parent.secret, world: job.world, rank: job.uplinkSpec!.rank, size: job.uplinkSpec!.size,
      total: job.total, window: job.window, sizeClass: job.sizeClass, leaf: true,
    }, name, timeoutMs);
    job.uplink = new LeafUplink(opened, name, {
      job: { number: job.number, slotBase: job.slotBase, window: job.window },
      multicast: (bytes) => this.multicast(job, bytes),
      fail: (reason) => this.endJob(job, 'ended', reason),
      faults: this.faults,
    }, { retransmitMs: parent.retransmitMs ?? 10, timeoutMs });
  }

  /** Ends a job from the switch's side (a leaf's root refused, ended or failed it): its workers are told why. */
  private endJob(job: Job<WorkerConn>, how: 'refused' | 'ended', reason: string): void {
    this.log.info(`job '${job.world}' ${how}: ${reason}; its ${job.window} slots are free`);
    job.uplink?.close();
    if (how === 'ended') this.keepReport(report(job, false));
    for (const conn of this.table.end(job)) conn.finish({ t: how, reason });
  }

  private keepReport(done: JobReport): void {
    this.finished.push(done);
    if (this.finished.length > FINISHED_KEPT) this.finished.shift();
  }

  private welcome(job: Job<WorkerConn>, welcomes: ReadonlyArray<{ conn: WorkerConn; welcome: SwitchMessage }>): void {
    this.log.info(`job '${job.world}' started: number ${job.number}, ${job.size} workers, slots [${job.slotBase}, ${job.slotBase + job.window}), ${32 << job.sizeClass} values a packet`);
    for (const { conn, welcome } of welcomes) conn.tell(welcome);
  }

  private onJoin(socket: Socket, text: string, refuse: (reason: string) => void): void {
    let join;
    try {
      join = parseJoin(text);
    } catch (error) {
      return refuse(detailOf(error));
    }
    if (!sameSecret(join.secret, this.secret)) return refuse(`wrong secret from a caller claiming rank ${join.rank} of job '${join.world}'`);
    if (join.via === 'websocket') return refuse("via 'websocket' joins on the switch's websocket door");
    const uplinkRefusal = this.uplinkRefusal(join);
    if (uplinkRefusal !== undefined) return refuse(uplinkRefusal);
    const outcome = this.table.join(join, socket.remoteAddress ?? '', this.connOf.get(socket)!);
    if (outcome.kind === 'refused') return refuse(outcome.reason);
    this.unjoined.delete(socket);
    if (outcome.kind === 'started') this.started(outcome.job, outcome.welcomes);
  }

  /** Why this switch cannot take a join's two-level shape (undefined: it can). */
  private uplinkRefusal(join: Join): string | undefined {
    if (join.uplink !== undefined && this.parent === undefined) return 'this switch has no root to forward the job to (start it with --parent)';
    if (join.uplink === undefined && (join.total ?? join.size) !== join.size && join.leaf !== true) {
      return `a job of ${join.total} workers with ${join.size} here needs an uplink to a root switch`;
    }
    return undefined;
  }

  private onLeave(conn: WorkerConn): void {
    const left = this.table.leave(conn);
    if (left === undefined || !left.started) return;
    const { job } = left;
    job.uplink?.close();
    const member = [...job.members.values()].find((m) => m.conn === conn);
    const reason = `${member?.leaf ? 'leaf switch' : 'worker'} ${member?.rank} of job '${job.world}' left`;
    this.log.info(`job '${job.world}' ended: ${reason}; its ${job.window} slots are free`);
    this.keepReport(report(job, false));
    for (const other of left.others) other.finish({ t: 'ended', reason });
  }
}

function line(message: SwitchMessage): string {
  return `${JSON.stringify(message)}\n`;
}

function report(job: Job<WorkerConn>, running: boolean): JobReport {
  const uplink = job.uplink instanceof LeafUplink ? { uplink: { ...job.uplink.counters } } : {};
  const choice = job.multicast;
  const results = choice?.kind === 'multicast' ? { kind: 'multicast' as const, group: `${choice.group.group}:${choice.group.port}` } : { kind: 'unicast' as const, reason: choice?.reason ?? 'multicast is off' };
  return { world: job.world, job: job.number, workers: job.size, running, ...job.plane!.counters, ...uplink, results };
}

/** Formats counters as the CLI prints them (one line per job). */
export function formatCounters(counters: SwitchCounters): string {
  const lines = [`switch (${counters.dataPlane} data plane): ${counters.datagrams} datagrams, ${counters.webSocketMessages} websocket messages, ${counters.strangers} from strangers, ${counters.refusedConnections} refused connections` +
    (counters.faults.dropped + counters.faults.duplicated + counters.faults.reordered > 0
      ? `; injected ${counters.faults.dropped} drops, ${counters.faults.duplicated} dups, ${counters.faults.reordered} reorders` : '') +
    (counters.offload ? `; udp out ${counters.offload.sentDatagrams} datagrams in ${counters.offload.sentMessages} messages (GSO ${counters.offload.gso ? 'on' : 'off'}), ` +
      `in ${counters.offload.receivedDatagrams} in ${counters.offload.receivedBuffers} buffers (GRO ${counters.offload.gro ? 'on' : 'off'})` : '')];
  for (const job of counters.jobs) {
    lines.push(`  job ${job.job} '${job.world}' (${job.workers} workers${job.running ? ', running' : ''}): in ${job.packetsIn}, out ${job.packetsOut}, ` +
      `retransmissions ${job.retransmissions}, wrong-job ${job.wrongJob}, malformed ${job.malformed}, results by ${job.results.kind === 'multicast' ? `multicast to ${job.results.group}` : 'unicast'}` +
      (job.uplink ? `; up ${job.uplink.up}, up retransmissions ${job.uplink.upRetransmissions}, root results ${job.uplink.rootResults}` : ''));
  }
  return lines.join('\n');
}

/** A TCP listener and a UDP door on the same port number (retrying when 0 picks a port UDP already has). */
async function bindPair(host: string, port: number, bindUdp: (port: number) => Promise<UdpDoor>): Promise<{ tcp: Server; door: UdpDoor; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const tcp = createServer();
    const bound = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve((tcp.address() as { port: number }).port));
    }).catch((error: Error) => { throw systemError(`switch: cannot listen on tcp ${host}:${port}: ${error.message}`, error); });
    try {
      return { tcp, door: await bindUdp(bound), port: bound };
    } catch (error) {
      tcp.close();
      if (port === 0 && attempt < 8) continue;
      throw error;
    }
  }
}

/**
 * 'auto' takes the native plane when the addon has it (and says why not at INFO otherwise). A
 * leaf takes the TypeScript one: the uplink must see every verdict (leaf-uplink.ts route()),
 * and the native plane answers UDP workers without JS.
 */
function chooseDataPlane(wanted: DataPlaneKind | 'auto', leaf: boolean, log: Logger): DataPlaneKind {
  if (wanted !== 'auto' && wanted !== 'native' && wanted !== 'js') throw systemError(`switch: --data-plane ${String(wanted)} is not native, js or auto`);
  if (wanted === 'js') return 'js';
  if (leaf) {
    if (wanted === 'native') throw systemError('switch: a leaf switch (--parent) runs the TypeScript data plane (its results go up through the uplink in JS); drop --data-plane native');
    log.info('a leaf switch (--parent): using the TypeScript data plane (its results go up through the uplink in JS)');
    return 'js';
  }
  const addon = nativeAddon();
  const loaded = loadNative();
  const missing = nativePlaneMissing(addon, 'unavailable' in loaded ? loaded.unavailable : undefined);
  if (missing === undefined) return 'native';
  if (wanted === 'native') throw systemError(`switch: the native data plane is unavailable: ${missing}`);
  log.info(`native data plane unavailable (${missing}); using the TypeScript one`);
  return 'js';
}
