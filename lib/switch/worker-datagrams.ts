// A switch worker's datagram socket (Node), one of two: Node's dgram (one send call and one
// event-loop turn per datagram) or the addon's SwitchWorkerSocket (native/src/switch-worker.cc:
// the packets a worker sends in one turn go out in one sendmmsg, and results arrive in batches
// from a receive thread, one event-loop turn per batch, in one ArrayBuffer the addon reuses for
// every batch: a datagram is read within its handler's call). udp-link.ts takes the native one when
// the addon has it, unless the worker asks for dgram.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { systemError } from '../errors.js';
import type { NativeSwitchWorkerSocket } from '../native/addon.js';
import type { NativeStreamRunner } from './switch-link.js';
import { nativeAddon } from '../native/load.js';
import { setBufferSizes } from './udp-door.js';

export interface WorkerDatagrams {
  readonly kind: 'native' | 'dgram';
  /** The local port (the switch learns it in the join). */
  readonly port: number;
  /** Connects to the switch's data port: only its datagrams are delivered from now on. */
  connect(host: string, port: number): Promise<void>;
  /** `bytes` is valid only during the handler's call (the native socket reuses its batch buffer). */
  onPacket(handler: (bytes: Uint8Array) => void): void;
  send(bytes: Uint8Array): void;
  /** It can join an IPv4 multicast group (the join says so; multicast.ts). */
  readonly canJoinGroups: boolean;
  /** Before connect: results also come from the switch (host:port) to group:groupPort. */
  joinGroup(group: string, groupPort: number, host: string, port: number): void;
  /** The addon's native streams, when its socket has them. */
  readonly stream?: NativeStreamRunner;
  close(): void;
}

/** The native socket when `wanted` allows and the addon has it, else dgram. */
export async function openWorkerDatagrams(bindHost: string, wanted: 'native' | 'dgram' | 'auto'): Promise<WorkerDatagrams> {
  const Native = wanted === 'dgram' ? undefined : nativeAddon()?.SwitchWorkerSocket;
  if (Native !== undefined) return new NativeDatagrams(bindHost, (onPackets) => new Native(bindHost, onPackets));
  if (wanted === 'native') throw systemError('switch worker: the native UDP socket is unavailable (WEBCCL_NATIVE=0, or the addon is not built)');
  return DgramDatagrams.bind(bindHost);
}

class DgramDatagrams implements WorkerDatagrams {
  readonly kind = 'dgram';
  readonly canJoinGroups = false;
  private constructor(private readonly udp: UdpSocket, readonly port: number) {}

  static async bind(host: string): Promise<DgramDatagrams> {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    udp.on('error', () => {}); // surfaced through the call's deadline
    await new Promise<void>((resolve) => udp.bind(0, host, resolve));
    setBufferSizes(udp);
    return new DgramDatagrams(udp, udp.address().port);
  }

  connect(host: string, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.udp.once('error', reject);
      this.udp.connect(port, host, () => { this.udp.off('error', reject); resolve(); });
    });
  }

  onPacket(handler: (bytes: Uint8Array) => void): void {
    this.udp.on('message', handler);
  }

  joinGroup(): void {
    throw systemError('switch worker: a dgram socket does not join multicast groups (its join said so)');
  }

  send(bytes: Uint8Array): void {
    this.udp.send(bytes);
  }

  close(): void {
    this.udp.close();
  }
}

class NativeDatagrams implements WorkerDatagrams {
  readonly kind = 'native';
  readonly port: number;
  readonly canJoinGroups: boolean;
  readonly stream?: NativeStreamRunner;
  private readonly native: NativeSwitchWorkerSocket;
  private handler: (bytes: Uint8Array) => void = () => {};
  /** Packets sent in this turn of the event loop: they leave together at its end. */
  private pending: Uint8Array[] = [];
  private closed = false;

  constructor(bindHost: string, open: (onPackets: (bytes: Uint8Array, lengths: Uint32Array) => void) => NativeSwitchWorkerSocket) {
    this.native = open((bytes, lengths) => {
      let at = 0;
      for (const length of lengths) {
        if (this.closed) return;
        this.handler(bytes.subarray(at, at + length));
        at += length;
      }
    });
    this.port = this.native.port();
    this.canJoinGroups = this.native.joinGroup !== undefined && !bindHost.includes(':');
    const { stream, streamEnded } = this.native;
    if (stream !== undefined && streamEnded !== undefined) {
      const native = this.native;
      this.stream = {
        run: (input, output, agreed, params) => stream.call(native, input, output, agreed, params), ended: (graceMs) => streamEnded.call(native, graceMs),
        lead: this.native.streamLead?.call(native) === true,
      };
    }
  }

  connect(host: string, port: number): Promise<void> {
    try {
      this.native.connect(host, port);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(systemError(`switch worker: cannot connect udp to ${host}:${port}: ${(error as Error).message}`, error));
    }
  }

  onPacket(handler: (bytes: Uint8Array) => void): void {
    this.handler = handler;
  }

  joinGroup(group: string, groupPort: number, host: string, port: number): void {
    try {
      this.native.joinGroup!(group, groupPort, host, port);
    } catch (error) {
      throw systemError(`switch worker: cannot join the job's multicast group ${group}:${groupPort} (start the switch with --multicast off, or WEBCCL_SWITCH_MULTICAST=off): ${(error as Error).message}`, error);
    }
  }

  /** Results that came by the group, and datagrams to it from others than the switch (dropped). */
  groupCounters(): { groupDatagrams: number; groupStrangers: number } {
    const c = this.native.counters();
    return { groupDatagrams: c.groupDatagrams ?? 0, groupStrangers: c.groupStrangers ?? 0 };
  }

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.pending.length === 0) queueMicrotask(() => this.flush());
    this.pending.push(bytes);
  }

  private flush(): void {
    const packets = this.pending;
    this.pending = [];
    if (!this.closed) this.native.send(packets);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.native.close();
  }
}
