// The switch's native UDP door (Node): the addon's SwitchDataPlane (native/src/switch-dp.cc)
// owns the UDP socket and applies the same rules as data-plane.ts on its own thread, reading
// and sending in batches (recvmmsg/sendmmsg); no datagram of a UDP worker reaches JS. The
// control plane stays here: a started job becomes addJob (shape, each worker's address), its
// end removeJob. A job's WebSocket workers share its native state: their packets go in through
// the synchronous receive(), and the results that UDP packets complete come back through
// `onResult` for the server to send on their sockets.
import { systemError } from '../errors.js';
import type { NativeAddon, NativeSwitchDataPlane } from '../native/addon.js';
import { callNative } from '../native/call.js';
import { checkShape, type JobCounters, type JobPlane, type JobShape, type Verdict } from './data-plane.js';
import type { FaultOptions } from './faults.js';
import type { PlaneFactory } from './job-table.js';
import type { MulticastGroup } from './multicast.js';
import type { UdpDoor, UdpDoorCounters } from './udp-door.js';

/** Why this addon cannot run the native plane, or undefined when it can. */
export function nativePlaneMissing(addon: NativeAddon | undefined, why: string | undefined): string | undefined {
  if (addon === undefined) return why ?? 'the native addon is not loaded';
  return typeof addon.SwitchDataPlane === 'function' ? undefined : 'the native addon was built without the switch data plane (rebuild it: node native/build.mjs)';
}

class NativeJobPlane implements JobPlane {
  /** The counters as they were when the job was removed (the native job is gone then). */
  private final: JobCounters | undefined;

  constructor(private readonly native: NativeSwitchDataPlane, readonly handle: number) {}

  receiveBytes(worker: number, bytes: Uint8Array): Verdict {
    return this.native.receive(this.handle, worker, bytes);
  }

  malformed(reason: string): Verdict {
    this.native.malformed(this.handle);
    return { kind: 'drop', reason };
  }

  get counters(): JobCounters {
    return this.final ?? this.native.jobCounters(this.handle);
  }

  remove(): void {
    if (this.final !== undefined) return;
    this.final = this.native.jobCounters(this.handle);
    this.native.removeJob(this.handle);
  }
}

export class NativeUdpDoor implements UdpDoor {
  readonly kind = 'native';
  readonly sendsMulticasts = true;
  readonly planes: PlaneFactory;
  readonly port: number;
  private readonly byHandle = new Map<number, NativeJobPlane>();
  private closed = false;
  private final: UdpDoorCounters | undefined;

  private constructor(private readonly native: NativeSwitchDataPlane) {
    this.port = native.port();
    this.planes = {
      create: (shape, members, multicast) => this.addJob(shape, members, multicast),
      release: (plane) => {
        const job = plane as NativeJobPlane;
        this.byHandle.delete(job.handle);
        if (!this.closed) job.remove();
      },
    };
  }

  /**
   * Binds `host:port` natively; `onResult` gets each result that a UDP packet completed for a
   * job with WebSocket workers. Throws SystemError naming the address when it cannot bind.
   */
  static bind(addon: NativeAddon, host: string, port: number, faults: FaultOptions, onResult: (plane: JobPlane, bytes: Uint8Array) => void): NativeUdpDoor {
    let door: NativeUdpDoor | undefined;
    const deliver = (handle: number, bytes: Uint8Array): void => {
      const plane = door?.byHandle.get(handle);
      if (plane !== undefined) onResult(plane, bytes);
    };
    let native: NativeSwitchDataPlane;
    try {
      native = new addon.SwitchDataPlane!(host, port, deliver, faults);
    } catch (error) {
      throw systemError(`switch: cannot open the native data plane on udp ${host}:${port}: ${(error as Error).message}`, error);
    }
    door = new NativeUdpDoor(native);
    return door;
  }

  private addJob(shape: JobShape, members: ReadonlyArray<{ host: string; port: number } | undefined>, multicast: MulticastGroup | undefined): NativeJobPlane {
    checkShape(shape);
    const handle = callNative('switch: native addJob', () => this.native.addJob(
      shape.job, shape.workers, shape.slotBase, shape.slots, shape.sizeClass,
      members.map((m) => m?.host ?? null), members.map((m) => m?.port ?? 0),
      multicast?.group, multicast?.port, multicast?.via,
    ));
    const plane = new NativeJobPlane(this.native, handle);
    this.byHandle.set(handle, plane);
    return plane;
  }

  /** The native plane sends every result itself; the server never calls this. */
  send(): void {
    throw new Error('the native data plane sends its own results');
  }

  counters(): UdpDoorCounters {
    if (this.final !== undefined) return this.final;
    const c = this.native.counters();
    return {
      datagrams: c.datagrams, strangers: c.strangers, faults: { dropped: c.dropped, duplicated: c.duplicated, reordered: c.reordered },
      offload: { sentDatagrams: c.sentDatagrams, sentMessages: c.sentMessages, receivedDatagrams: c.receivedDatagrams, receivedBuffers: c.receivedBuffers, gso: c.gso, gro: c.gro },
    };
  }

  /** Stops the thread and closes the socket (the jobs' counters are kept first). */
  close(): Promise<void> {
    if (!this.closed) {
      for (const plane of this.byHandle.values()) plane.remove();
      this.final = this.counters();
      this.closed = true;
      this.native.close();
    }
    return Promise.resolve();
  }
}
