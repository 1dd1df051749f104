// The software switch (Node): SwitchML's data plane on a UDP socket, and the control plane
// (join, welcome, refusal, end of job) on a TCP listener with the same port number. Every
// datagram is looked up by its sender's address: only a worker of a running job reaches that
// job's slots, and everything else is dropped and counted, never thrown.
// Bounded before authentication: a control connection may hold one line of MAX_LINE_BYTES
// and must join within `helloTimeoutMs`; at most MAX_UNJOINED connections wait at once.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { detailOf, systemError } from '../errors.js';
import { logger } from '../log.js';
import { sameSecret } from '../transport/handshake/handshake.js';
import { LineSplitter, parseJoin, type SwitchMessage } from './control-protocol.js';
import { MAX_WORKERS, type JobCounters } from './data-plane.js';
import { FaultInjector, type FaultCounters, type FaultOptions } from './faults.js';
import { JobTable, udpAddressKey, type Job } from './job-table.js';
import { decodePacket, SWITCH_PORT } from './packet.js';

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
}

export interface JobReport extends JobCounters {
  readonly world: string;
  readonly job: number;
  readonly workers: number;
  readonly running: boolean;
}

export interface SwitchCounters {
  readonly datagrams: number;
  /** Datagrams from an address that is no running job's worker. */
  readonly strangers: number;
  /** Control connections refused (bad hello, wrong secret, job does not fit, garbage). */
  readonly refusedConnections: number;
  readonly faults: FaultCounters;
  readonly jobs: JobReport[];
}

export class SwitchServer {
  private readonly log = logger('SWITCH');
  private readonly table: JobTable<Socket>;
  private readonly faults: FaultInjector;
  private readonly unjoined = new Set<Socket>();
  private readonly finished: JobReport[] = [];
  private datagrams = 0;
  private strangers = 0;
  private refusedConnections = 0;
  private closed = false;

  private constructor(
    private readonly tcp: Server,
    private readonly udp: UdpSocket,
    readonly host: string,
    readonly port: number,
    readonly secret: string,
    private readonly helloTimeoutMs: number,
    limits: { slots: number; maxWorkers: number },
    faults: FaultInjector,
  ) {
    this.table = new JobTable<Socket>(limits, () => port);
    this.faults = faults;
    tcp.on('error', (error) => this.log.warn(`control listener: ${error.message}`));
    udp.on('error', (error) => this.log.warn(`data socket: ${error.message}`));
    tcp.on('connection', (socket) => this.accept(socket));
    udp.on('message', (msg, rinfo) => this.faults.pass(() => this.onDatagram(msg, rinfo)));
  }

  static async start(options: SwitchServerOptions = {}): Promise<SwitchServer> {
    const host = options.host ?? '127.0.0.1';
    const slots = options.slots ?? DEFAULT_SWITCH_SLOTS;
    const maxWorkers = options.maxWorkers ?? MAX_WORKERS;
    if (!Number.isInteger(slots) || slots < 1 || slots > 0x8000) throw systemError(`switch: --slots ${slots} is not in [1, 32768] (the pool index has 15 bits)`);
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1 || maxWorkers > MAX_WORKERS) throw systemError(`switch: --max-workers ${maxWorkers} is not in [1, ${MAX_WORKERS}] (the worker bitmap is ${MAX_WORKERS} bits wide)`);
    const faults = new FaultInjector(options.faults); // validates the probabilities before binding
    const { tcp, udp, port } = await bindPair(host, options.port ?? SWITCH_PORT);
    const secret = options.secret ?? randomBytes(16).toString('hex');
    const server = new SwitchServer(tcp, udp, host, port, secret, options.helloTimeoutMs ?? 10_000, { slots, maxWorkers }, faults);
    server.log.info(`listening on ${host}:${port} (tcp control, udp data), ${slots} slots, at most ${maxWorkers} workers per job`);
    return server;
  }

  get address(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  counters(): SwitchCounters {
    const running = [...this.table.jobs].filter((job) => job.plane !== undefined).map((job) => report(job, true));
    return {
      datagrams: this.datagrams, strangers: this.strangers, refusedConnections: this.refusedConnections,
      faults: { ...this.faults.counters }, jobs: [...this.finished, ...running],
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.faults.clear();
    for (const socket of this.unjoined) socket.destroy();
    for (const job of [...this.table.jobs]) for (const member of job.members.values()) member.conn.destroy();
    await Promise.all([
      new Promise<void>((done) => this.tcp.close(() => done())),
      new Promise<void>((done) => this.udp.close(() => done())),
    ]);
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    this.datagrams++;
    const sender = this.table.sender(udpAddressKey(rinfo.address, rinfo.port));
    if (sender === undefined) {
      this.strangers++;
      return;
    }
    const { job, worker } = sender;
    const plane = job.plane!;
    const decoded = decodePacket(msg);
    const verdict = decoded.ok ? plane.receive(worker, decoded.packet) : plane.malformed(decoded.reason);
    if (verdict.kind === 'multicast') for (const member of job.members.values()) this.send(verdict.bytes, member.host, member.port);
    else if (verdict.kind === 'unicast') this.send(verdict.bytes, rinfo.address, rinfo.port);
    else if (verdict.kind === 'drop' && this.log.traceEnabled) this.log.trace(`job ${job.number} worker ${worker}: dropped (${verdict.reason})`);
  }

  private send(bytes: Uint8Array, host: string, port: number): void {
    this.faults.pass(() => {
      if (!this.closed) this.udp.send(bytes, port, host, (error) => { if (error) this.log.trace(`send to ${host}:${port} failed: ${error.message}`); });
    });
  }

  private accept(socket: Socket): void {
    socket.on('error', (error) => this.log.trace(`control connection: ${error.message}`));
    if (this.closed || this.unjoined.size >= MAX_UNJOINED) {
      socket.destroy();
      return;
    }
    this.unjoined.add(socket);
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
      this.onLeave(socket);
    });
  }

  private onJoin(socket: Socket, text: string, refuse: (reason: string) => void): void {
    let join;
    try {
      join = parseJoin(text);
    } catch (error) {
      return refuse(detailOf(error));
    }
    if (!sameSecret(join.secret, this.secret)) return refuse(`wrong secret from a caller claiming rank ${join.rank} of job '${join.world}'`);
    const outcome = this.table.join(join, socket.remoteAddress ?? '', socket);
    if (outcome.kind === 'refused') return refuse(outcome.reason);
    this.unjoined.delete(socket);
    if (outcome.kind === 'started') {
      const { job } = outcome;
      this.log.info(`job '${job.world}' started: number ${job.number}, ${job.size} workers, slots [${job.slotBase}, ${job.slotBase + job.window}), ${32 << job.sizeClass} values a packet`);
      for (const { conn, welcome } of outcome.welcomes) conn.write(line(welcome));
    }
  }

  private onLeave(socket: Socket): void {
    const left = this.table.leave(socket);
    if (left === undefined || !left.started) return;
    const { job } = left;
    const rank = [...job.members.values()].find((m) => m.conn === socket)?.rank;
    const reason = `worker ${rank} of job '${job.world}' left`;
    this.log.info(`job '${job.world}' ended: ${reason}; its ${job.window} slots are free`);
    this.finished.push(report(job, false));
    if (this.finished.length > FINISHED_KEPT) this.finished.shift();
    for (const other of left.others) other.end(line({ t: 'ended', reason }));
  }
}

function line(message: SwitchMessage): string {
  return `${JSON.stringify(message)}\n`;
}

function report(job: Job<Socket>, running: boolean): JobReport {
  return { world: job.world, job: job.number, workers: job.size, running, ...job.plane!.counters };
}

/** Formats counters as the CLI prints them (one line per job). */
export function formatCounters(counters: SwitchCounters): string {
  const lines = [`switch: ${counters.datagrams} datagrams, ${counters.strangers} from strangers, ${counters.refusedConnections} refused connections` +
    (counters.faults.dropped + counters.faults.duplicated + counters.faults.reordered > 0
      ? `; injected ${counters.faults.dropped} drops, ${counters.faults.duplicated} dups, ${counters.faults.reordered} reorders` : '')];
  for (const job of counters.jobs) {
    lines.push(`  job ${job.job} '${job.world}' (${job.workers} workers${job.running ? ', running' : ''}): in ${job.packetsIn}, out ${job.packetsOut}, ` +
      `retransmissions ${job.retransmissions}, wrong-job ${job.wrongJob}, malformed ${job.malformed}`);
  }
  return lines.join('\n');
}

/** A TCP listener and a UDP socket on the same port number (retrying when 0 picks a port UDP already has). */
async function bindPair(host: string, port: number): Promise<{ tcp: Server; udp: UdpSocket; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const tcp = createServer();
    const bound = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve((tcp.address() as { port: number }).port));
    }).catch((error: Error) => { throw systemError(`switch: cannot listen on tcp ${host}:${port}: ${error.message}`, error); });
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(bound, host, () => resolve());
      });
    } catch (error) {
      tcp.close();
      udp.close();
      if (port === 0 && attempt < 8) continue;
      throw systemError(`switch: cannot bind udp ${host}:${bound}: ${(error as Error).message}`, error);
    }
    setBufferSizes(udp);
    return { tcp, udp, port: bound };
  }
}

/** A window of datagrams in flight needs more than Linux's default 208 KiB (capped by net.core.rmem_max). */
export function setBufferSizes(udp: UdpSocket): void {
  try {
    udp.setRecvBufferSize(8 << 20);
    udp.setSendBufferSize(8 << 20);
  } catch {
    // Best effort: loss is repaired by retransmission either way.
  }
}
