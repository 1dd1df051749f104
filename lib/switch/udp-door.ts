// The switch's UDP side (Node), one of two: the TypeScript door here (a dgram socket; every
// datagram is an event-loop turn into the server's onDatagram and the TypeScript JobDataPlane),
// or the native door (native-door.ts: the addon owns the socket and the rules). The server talks
// to either through UdpDoor; which one runs is `SwitchServerOptions.dataPlane`.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { systemError } from '../errors.js';
import type { Logger } from '../log.js';
import type { FaultCounters, FaultInjector } from './faults.js';
import { TYPESCRIPT_PLANES, type PlaneFactory } from './job-table.js';

export type DataPlaneKind = 'native' | 'js';

export interface UdpDoorCounters {
  readonly datagrams: number;
  /** Datagrams from an address that is no running job's worker. */
  readonly strangers: number;
  /** Faults injected on this door's datagrams (the native door's own; the TypeScript door shares the server's injector). */
  readonly faults: FaultCounters;
  /** The native door's batching: datagrams against the sendmmsg/recvmmsg entries that carried them (GSO/GRO, native/src/udp-offload.h). */
  readonly offload?: UdpOffloadCounters;
}

export interface UdpOffloadCounters {
  readonly sentDatagrams: number;
  readonly sentMessages: number;
  readonly receivedDatagrams: number;
  readonly receivedBuffers: number;
  readonly gso: boolean;
  readonly gro: boolean;
}

export interface UdpDoor {
  readonly kind: DataPlaneKind;
  readonly port: number;
  /** Makes each started job's plane. */
  readonly planes: PlaneFactory;
  /** True when the door itself sends each multicast to the job's UDP workers (the server sends only to WebSocket ones). */
  readonly sendsMulticasts: boolean;
  /** A result to one UDP worker (through the fault injector). */
  send(bytes: Uint8Array, host: string, port: number): void;
  counters(): UdpDoorCounters;
  close(): Promise<void>;
}

/** What the TypeScript door calls per datagram: false when the sender is no worker (a stranger). */
export type DatagramHandler = (msg: Buffer, rinfo: RemoteInfo) => boolean;

export class TypeScriptUdpDoor implements UdpDoor {
  readonly kind = 'js';
  readonly planes = TYPESCRIPT_PLANES;
  readonly sendsMulticasts = false;
  private datagrams = 0;
  private strangers = 0;
  private closed = false;
  private handler: DatagramHandler = () => false;

  private constructor(private readonly udp: UdpSocket, readonly port: number, private readonly faults: FaultInjector, private readonly log: Logger) {
    udp.on('error', (error) => log.warn(`data socket: ${error.message}`));
    udp.on('message', (msg, rinfo) => this.faults.pass(() => {
      this.datagrams++;
      if (!this.handler(msg, rinfo)) this.strangers++;
    }));
  }

  /** Binds `host:port`; throws SystemError naming the address when it cannot. */
  static async bind(host: string, port: number, faults: FaultInjector, log: Logger): Promise<TypeScriptUdpDoor> {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => resolve());
      });
    } catch (error) {
      udp.close();
      throw systemError(`switch: cannot bind udp ${host}:${port}: ${(error as Error).message}`, error);
    }
    setBufferSizes(udp);
    return new TypeScriptUdpDoor(udp, udp.address().port, faults, log);
  }

  onDatagram(handler: DatagramHandler): void {
    this.handler = handler;
  }

  send(bytes: Uint8Array, host: string, port: number): void {
    this.faults.pass(() => {
      if (!this.closed) this.udp.send(bytes, port, host, (error) => { if (error) this.log.trace(`send to ${host}:${port} failed: ${error.message}`); });
    });
  }

  counters(): UdpDoorCounters {
    return { datagrams: this.datagrams, strangers: this.strangers, faults: { dropped: 0, duplicated: 0, reordered: 0 } };
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise<void>((done) => this.udp.close(() => done()));
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
