// Which jobs the switch serves: admission (does the job fit: workers, slots, a free job
// number), the gathering of its ranks, the map from a worker's UDP address to its job and
// worker id (the only way a datagram reaches a job's slots), and the release of everything
// when a worker leaves. No sockets: `C` is whatever the server uses for a control connection.
import { JobDataPlane, MAX_WORKERS, type JobPlane, type JobShape, type Verdict } from './data-plane.js';
import type { Join, Welcome } from './control-protocol.js';
import type { MulticastChoice, MulticastGroup, MulticastMember } from './multicast.js';

export interface SwitchLimits {
  /** Slots in the switch's pool, shared by all jobs (each job takes `window` of them). */
  readonly slots: number;
  /** Workers per job, at most 32 (the bitmap width). */
  readonly maxWorkers: number;
  /** Welcomes offer exponents-only packets (packet.ts); default true. */
  readonly exponentsOnly?: boolean;
}

export interface Member<C> {
  readonly rank: number;
  /** Where the worker's results go; `address` is the two as one key. */
  readonly host: string;
  readonly port: number;
  readonly address: string;
  /** How its packets come: UDP datagrams, or messages on its WebSocket (`conn`). */
  readonly via: 'udp' | 'websocket';
  readonly conn: C;
  /** A leaf switch (two levels), not a worker. */
  readonly leaf: boolean;
  /** Its join said it can join a multicast group. */
  readonly canJoin: boolean;
}

/** A leaf's forwarding of a job to its root (leaf-uplink.ts): what becomes of the data plane's verdicts. */
export interface Uplink {
  route(verdict: Verdict): Verdict;
  close(): void;
}

/** Makes and frees a started job's data plane (the TypeScript one unless the server says otherwise). */
export interface PlaneFactory {
  /** `members[w]`: worker w's UDP address, or undefined for a WebSocket worker. */
  create(shape: JobShape, members: ReadonlyArray<{ host: string; port: number } | undefined>, multicast?: MulticastGroup): JobPlane;
  release(plane: JobPlane): void;
}

export const TYPESCRIPT_PLANES: PlaneFactory = { create: (shape) => new JobDataPlane(shape), release: () => {} };

export interface Job<C> {
  readonly world: string;
  readonly number: number;
  readonly size: number;
  /** Workers over every switch of a two-level job (size when it has one level). */
  readonly total: number;
  /** Where a leaf forwards the job (the workers' join asked for it). */
  readonly uplinkSpec?: { readonly rank: number; readonly size: number };
  readonly window: number;
  readonly sizeClass: number;
  readonly slotBase: number;
  readonly members: Map<number, Member<C>>;
  /** Set once every rank has joined. */
  plane?: JobPlane;
  /** Set by a leaf once its root welcomed it. */
  uplink?: Uplink;
  /** Set when the job was released (a leaf's uplink opening late must not revive it). */
  released?: boolean;
  /** How its results leave (set when it starts; multicast.ts). */
  multicast?: MulticastChoice;
}

export type JoinOutcome<C> =
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'started'; readonly job: Job<C>; readonly welcomes: ReadonlyArray<{ conn: C; welcome: Welcome }> };

/** `host:port` as the data plane sees a sender (IPv4-mapped IPv6 spelled as IPv4). */
export function udpAddressKey(host: string, port: number): string {
  return `${plainHost(host)}:${port}`;
}

function uplinkName(uplink: { rank: number; size: number } | undefined): string {
  return uplink === undefined ? 'none' : `${uplink.rank} of ${uplink.size}`;
}

function plainHost(host: string): string {
  return host.startsWith('::ffff:') ? host.slice(7) : host;
}

export class JobTable<C> {
  private readonly byWorld = new Map<string, Job<C>>();
  private readonly byNumber = new Map<number, Job<C>>();
  private readonly byConn = new Map<C, Job<C>>();
  private readonly bySender = new Map<string, { job: Job<C>; worker: number }>();

  constructor(
    readonly limits: SwitchLimits,
    private readonly udpPort: () => number,
    private readonly planes: PlaneFactory = TYPESCRIPT_PLANES,
    private readonly chooseMulticast: (number: number, members: readonly MulticastMember[]) => MulticastChoice = () => ({ kind: 'unicast', reason: 'multicast is off' }),
  ) {}

  get jobs(): IterableIterator<Job<C>> {
    return this.byWorld.values();
  }

  sender(key: string): { job: Job<C>; worker: number } | undefined {
    return this.bySender.get(key);
  }

  /**
   * `address` keys the worker's packets to it: its UDP address by default; a WebSocket worker's
   * packets arrive on its connection, which the server names with a key of its own.
   */
  join(join: Join, host: string, conn: C, address = udpAddressKey(host, join.udpPort ?? 0)): JoinOutcome<C> {
    if (this.bySender.has(address) || [...this.byWorld.values()].some((job) => [...job.members.values()].some((m) => m.address === address))) {
      return { kind: 'refused', reason: `address ${address} is already a worker` };
    }
    let job = this.byWorld.get(join.world);
    if (job === undefined) {
      const created = this.create(join);
      if (typeof created === 'string') return { kind: 'refused', reason: created };
      job = created;
    } else {
      const mismatch = this.mismatch(job, join);
      if (mismatch !== undefined) return { kind: 'refused', reason: mismatch };
    }
    job.members.set(join.rank, { rank: join.rank, host: plainHost(host), port: join.udpPort ?? 0, address, via: join.via ?? 'udp', conn, leaf: join.leaf === true, canJoin: join.multicast === true });
    this.byConn.set(conn, job);
    if (job.members.size < job.size) return { kind: 'waiting' };
    return { kind: 'started', job, welcomes: this.start(job) };
  }

  /** A control connection closed: its job ends (if it had started) or loses the member. */
  leave(conn: C): { job: Job<C>; others: C[]; started: boolean } | undefined {
    const job = this.byConn.get(conn);
    if (job === undefined) return undefined;
    this.byConn.delete(conn);
    const started = job.plane !== undefined;
    if (!started) {
      for (const [rank, member] of job.members) if (member.conn === conn) job.members.delete(rank);
      if (job.members.size === 0) this.release(job);
      return { job, others: [], started };
    }
    const others = [...job.members.values()].map((m) => m.conn).filter((c) => c !== conn);
    for (const other of others) this.byConn.delete(other);
    this.release(job);
    return { job, others, started };
  }

  /** Ends a started job from the switch's side (a leaf whose root failed): its members' connections. */
  end(job: Job<C>): C[] {
    const conns = [...job.members.values()].map((m) => m.conn);
    for (const conn of conns) this.byConn.delete(conn);
    this.release(job);
    return conns;
  }

  private create(join: Join): Job<C> | string {
    const { limits } = this;
    const max = Math.min(limits.maxWorkers, MAX_WORKERS);
    if (join.size > max) return `job '${join.world}' has ${join.size} workers; this switch takes at most ${max} per job${join.size > MAX_WORKERS ? ` (the worker bitmap is ${MAX_WORKERS} bits wide)` : ''}`;
    const number = this.freeNumber();
    if (number === undefined) return 'all 256 job numbers are in use';
    const slotBase = this.freeSlots(join.window);
    if (slotBase === undefined) {
      return `job '${join.world}' asks for ${join.window} slots; this switch has ${this.largestFree()} contiguous free of ${limits.slots}`;
    }
    const job: Job<C> = {
      world: join.world, number, size: join.size, total: join.total ?? join.size, ...(join.uplink ? { uplinkSpec: { rank: join.uplink.rank, size: join.uplink.size } } : {}),
      window: join.window, sizeClass: join.sizeClass, slotBase, members: new Map(),
    };
    this.byWorld.set(job.world, job);
    this.byNumber.set(number, job);
    return job;
  }

  private mismatch(job: Job<C>, join: Join): string | undefined {
    if (job.plane !== undefined) return `job '${job.world}' is already running`;
    if (join.size !== job.size || join.window !== job.window || join.sizeClass !== job.sizeClass) {
      return `job '${job.world}' was opened with size ${job.size}, window ${job.window}, size class ${job.sizeClass}; rank ${join.rank} asks for ${join.size}, ${join.window}, ${join.sizeClass}`;
    }
    if ((join.total ?? join.size) !== job.total || uplinkName(join.uplink) !== uplinkName(job.uplinkSpec)) {
      return `job '${job.world}' was opened with total ${job.total} workers and uplink ${uplinkName(job.uplinkSpec)}; rank ${join.rank} asks for ${join.total ?? join.size} and ${uplinkName(join.uplink)}`;
    }
    if (job.members.has(join.rank)) return `rank ${join.rank} of job '${job.world}' has already joined`;
    return undefined;
  }

  private start(job: Job<C>): Array<{ conn: C; welcome: Welcome }> {
    const ranked = Array.from({ length: job.size }, (_, rank) => job.members.get(rank)!);
    const members = ranked.map((member) => member.via === 'udp' ? { host: member.host, port: member.port } : undefined);
    job.multicast = this.chooseMulticast(job.number, ranked);
    const group = job.multicast.kind === 'multicast' ? job.multicast.group : undefined;
    job.plane = this.planes.create({ job: job.number, workers: job.size, slotBase: job.slotBase, slots: job.window, sizeClass: job.sizeClass }, members, group);
    const udpPort = this.udpPort();
    const multicast = group === undefined ? {} : { multicast: { group: group.group, port: group.port } };
    return [...job.members.values()].map((member) => {
      this.bySender.set(member.address, { job, worker: member.rank });
      return {
        conn: member.conn,
        welcome: { t: 'welcome', job: job.number, worker: member.rank, workers: job.total, slotBase: job.slotBase, window: job.window, sizeClass: job.sizeClass, udpPort, ...(this.limits.exponentsOnly === false ? {} : { exponentsOnly: true }), ...multicast },
      };
    });
  }

  private release(job: Job<C>): void {
    job.released = true;
    if (job.plane !== undefined) this.planes.release(job.plane);
    this.byWorld.delete(job.world);
    this.byNumber.delete(job.number);
    for (const member of job.members.values()) this.bySender.delete(member.address);
  }

  private freeNumber(): number | undefined {
    for (let n = 0; n < 256; n++) if (!this.byNumber.has(n)) return n;
    return undefined;
  }

  /** Taken slot ranges, sorted. */
  private taken(): Array<[number, number]> {
    return [...this.byWorld.values()].map((job): [number, number] => [job.slotBase, job.slotBase + job.window]).sort((a, b) => a[0] - b[0]);
  }

  /** Gaps between taken ranges, as [start, end). */
  private gaps(): Array<[number, number]> {
    const gaps: Array<[number, number]> = [];
    let start = 0;
    for (const [from, to] of this.taken()) {
      if (from > start) gaps.push([start, from]);
      start = Math.max(start, to);
    }
    if (start < this.limits.slots) gaps.push([start, this.limits.slots]);
    return gaps;
  }

  private freeSlots(count: number): number | undefined {
    return this.gaps().find(([from, to]) => to - from >= count)?.[0];
  }

  private largestFree(): number {
    return Math.max(0, ...this.gaps().map(([from, to]) => to - from));
  }
}
