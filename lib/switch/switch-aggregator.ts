// The switch as an Aggregator (lib/memory/aggregator.ts), for the communicator's switch
// algorithm. Platform-neutral: each entry registers a provider made here, the Node one with UDP
// and `ws`, the browser one with the page's WebSocket only. A rank takes the path its address
// offers and it can use: UDP where it has it (unless the rank asked for the WebSocket door),
// else the door. One session per communicator: a SwitchWorker that
// joined the communicator's job. What the call's memory hands over becomes int32 or float32
// for the worker: int32 as is, uint32 as its bits (wrap-around sums are the same bits), float32
// as is (the worker quantizes it), float16 and bfloat16 widened to float32 on the CPU and the
// sum narrowed back (RNE), so a 16-bit sum has the float32 quantization bound plus the final
// rounding.
//
// Slots reach the switch in slot order. The worker numbers its packets by the order calls are
// made, and every rank must give the switch the same chunk in the same packets; the schedule's
// pipelines may finish reading their chunks out of order (a GPU readback), so each call's
// aggregator holds a slot back until the slots before it have been handed to the worker.
import { castFromFloat32, castToFloat32 } from '../cpu/cast.js';
import { elementBytes, type DataType } from '../dtype.js';
import { internalError, invalidArgument } from '../errors.js';
import type { AggregateOp, Aggregator, AggregatorJob, AggregatorPackets, AggregatorProvider, AggregatorSession } from '../memory/aggregator.js';
import type { WebSocketConstructor } from '../transport/handshake/web-socket-like.js';
import { parseSwitchAddresses } from './control-protocol.js';
import { sizeClassOfValues } from './packet-size.js';
import { valuesOf } from './packet.js';
import { SwitchWorker, type SwitchWorkerOptions } from './worker.js';

/** The int32 or float32 elements the worker sums for `count` elements of `dtype` in `payload`. */
function widen(payload: Uint8Array, count: number, dtype: DataType): Int32Array | Float32Array {
  const aligned = payload.byteOffset % 4 === 0 ? payload : payload.slice();
  switch (dtype) {
    case 'int32':
    case 'uint32': return new Int32Array(aligned.buffer, aligned.byteOffset, count);
    case 'float32': return new Float32Array(aligned.buffer, aligned.byteOffset, count);
    case 'float16':
    case 'bfloat16': {
      const wide = new Float32Array(count);
      castToFloat32(wide, payload, count, dtype);
      return wide;
    }
  }
}

/** The sum back in the call's encoding. */
function narrow(total: Int32Array | Float32Array, count: number, dtype: DataType): Uint8Array {
  if (dtype !== 'float16' && dtype !== 'bfloat16') return new Uint8Array(total.buffer, total.byteOffset, total.byteLength);
  const out = new Uint8Array(2 * count);
  castFromFloat32(out, total, count, dtype);
  return out;
}

/** One call's slots, handed to the worker in slot order. */
class OrderedCall implements Aggregator {
  readonly packets: AggregatorPackets;
  private next = 0;
  private readonly held = new Map<number, () => void>();

  constructor(private readonly worker: SwitchWorker) {
    this.packets = { values: valuesOf(worker.welcome.sizeClass), window: worker.welcome.window };
  }

  async allReduce(slot: number, payload: Uint8Array, count: number, dtype: DataType, op: AggregateOp): Promise<Uint8Array> {
    if (op !== 'sum') throw invalidArgument(`the switch sums; it cannot ${op}`);
    if (payload.byteLength !== count * elementBytes(dtype)) {
      throw internalError(`switch slot ${slot}: ${payload.byteLength} bytes for ${count} ${dtype} elements`);
    }
    // In place: the payload (or its widening) is this call's own copy of the rank's elements.
    const total = await this.inOrder(slot, () => this.worker.allReduce(widen(payload, count, dtype), 'sum', { inPlace: true }));
    return narrow(total, count, dtype);
  }

  /** The stream quantizes each packet with the agreed exponents (its half packets are the blocks). */
  async allReduceQuantized(slot: number, values: Float32Array, exponents: Int32Array, blockSize: number, workers: number, out: Float32Array): Promise<void> {
    if (2 * blockSize !== this.packets.values || workers !== this.worker.welcome.workers) {
      throw internalError(`switch slot ${slot}: blocks of ${blockSize} for ${workers} workers, but the job's packets hold ${this.packets.values} values for ${this.worker.welcome.workers}`);
    }
    await this.inOrder(slot, () => this.worker.allReduce(values, 'sum', { into: out, exponents }));
  }

  /** Starts slot `slot`'s stream once the slots before it have started theirs. */
  private async inOrder<T>(slot: number, start: () => Promise<T>): Promise<T> {
    if (slot !== this.next) await new Promise<void>((resolve) => this.held.set(slot, resolve));
    try {
      return start();
    } finally {
      this.next = slot + 1;
      this.held.get(this.next)?.();
      this.held.delete(this.next);
    }
  }
}

class SwitchSession implements AggregatorSession {
  constructor(private readonly worker: SwitchWorker) {}

  forCall(): Aggregator {
    return new OrderedCall(this.worker);
  }

  close(): void {
    this.worker.close();
  }
}

/** Worker options beyond the job (tests inject faults, webccl-perf may pick a packet size). */
let workerExtras: Partial<SwitchWorkerOptions> = {};

/** Test and benchmark hook: options every later switch session's worker gets. */
export function setSwitchWorkerExtras(extras: Partial<SwitchWorkerOptions>): void {
  workerExtras = extras;
}

/** What a platform offers a switch worker: UDP (Node), and a WebSocket where there is no global one. */
export interface SwitchPlatform {
  readonly udp: boolean;
  readonly webSocket?: WebSocketConstructor;
}

/** Where and how this rank joins: the agreed address list, the rank's wish, what the platform has. */
export function switchRoute(address: string, wish: 'udp' | 'websocket' | undefined, platform: SwitchPlatform): { switch: string; via: 'udp' | 'websocket' } {
  const { udp, webSocket } = parseSwitchAddresses(address);
  const via = wish ?? (platform.udp && udp !== undefined ? 'udp' : 'websocket');
  if (via === 'udp' && !platform.udp) throw invalidArgument(`switch ${address}: this rank cannot send UDP (a browser); it joins through the switch's WebSocket door`);
  const target = via === 'udp' ? udp : webSocket;
  if (target === undefined) {
    throw invalidArgument(via === 'udp'
      ? `switch ${address}: no host:port to reach it by UDP (switchVia 'udp')`
      : `switch ${address}: no ws:// URL of its WebSocket door${platform.udp ? '' : ', and this rank cannot send UDP'} (webccl switch --ws-port, or webccl serve --switch; the address takes 'host:port,ws://host:port')`);
  }
  return { switch: target, via };
}

function packetSizeClass(values: number): number {
  const sizeClass = sizeClassOfValues(values);
  if (sizeClass === undefined) throw invalidArgument(`switch packets of ${values} values: not a power of two from 32 to 4096`);
  return sizeClass;
}

export function switchAggregatorProvider(platform: SwitchPlatform): AggregatorProvider {
  return {
    name: 'switch',
    async join(job: AggregatorJob): Promise<AggregatorSession> {
      const route = switchRoute(job.address, job.via, platform);
      const worker = await SwitchWorker.connect({
        ...workerExtras, ...route, ...(platform.webSocket ? { webSocket: platform.webSocket } : {}),
        secret: job.secret, world: job.job, rank: job.rank, size: job.size, timeoutMs: job.timeoutMs,
        ...(job.total === undefined ? {} : { total: job.total }), ...(job.uplink === undefined ? {} : { uplink: job.uplink }),
        ...(job.packetValues === undefined ? {} : { sizeClass: packetSizeClass(job.packetValues) }),
      });
      return new SwitchSession(worker);
    },
  };
}
