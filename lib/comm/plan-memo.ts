// The last plan of one collective, reused while the program repeats the very same call (a
// training loop's allreduce of one gradient buffer): planning checks every argument and asks
// the tuner for an algorithm, which for a small call took about as long as running it.
//
// Reused only when nothing the plan was built from can differ: the same host arrays (TypedArray
// objects: their buffer, offset and element type are fixed; their length is compared, since a
// length-tracking view of a resizable buffer can change it), the same count, dtype and named op
// or root, no per-call options but an algorithm's name (calibration's and a benchmark's timed
// calls name theirs: planned every time, a small call cost 30-60% more than the same call
// repeated, which the cost model then priced into every call), and the same agreed
// configuration object (calibration at init replaces it). GPU buffers and { buffer, byteOffset } ranges (whose offset a program may
// change in place) are planned every time. A buffer detached since is caught when the call's
// turn comes, by the same check every call makes then (MemorySpace.verify). The arrays are
// held weakly: the memo never keeps a program's buffer alive.
import type { AgreedConfig } from './config.js';
import type { CallOptions, CallPlan } from './plans.js';

/**
 * The memo's scalar for a call of named op or root `scalar` with `options`: the scalar itself
 * without options, with the algorithm's name where that is the only option (the plan depends on
 * nothing else the call states); undefined (no reuse) for any other option. An option left
 * undefined is no option (planning reads every one as `options?.name`): a program that passes
 * `{}`, or `{ algorithm: undefined }` from a setting it did not make, keeps the reuse (without
 * it, 2 websocket ranks' 32 KiB calls under auto ran 1.3-1.7x the same calls naming the
 * algorithm the model chose).
 */
export function repeatableKey(scalar: string | number, options: CallOptions | undefined): string | number | undefined {
  // Every call asks: no options (the usual case) costs no allocation.
  if (options === undefined) return scalar;
  let key: string | number = scalar;
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (name !== 'algorithm' || typeof value !== 'string') return undefined;
    key = `${scalar}/${value}`;
  }
  return key;
}

export class PlanMemo {
  private plan: CallPlan | undefined;
  private config: AgreedConfig | undefined;
  private send: WeakRef<ArrayBufferView> | undefined;
  private recv: WeakRef<ArrayBufferView> | undefined;
  private sendLength = 0;
  private recvLength = 0;
  private count = 0;
  private dtype = '';
  private scalar: string | number = '';

  /**
   * The plan of (send, recv, count, dtype, scalar), built by `build` unless it is the last one's.
   * `scalar` is the call's op name or root; anything else (a premulSum object, options) means
   * no reuse: pass undefined.
   */
  reuse(config: AgreedConfig, send: unknown, recv: unknown, count: number, dtype: string, scalar: string | number | undefined, build: () => CallPlan): CallPlan {
    if (scalar === undefined || !ArrayBuffer.isView(send) || !ArrayBuffer.isView(recv)) return build();
    const last = this.last(config, send, recv, count, dtype, scalar);
    if (last !== undefined) return last;
    this.plan = undefined;
    const plan = build();
    this.plan = plan;
    this.config = config;
    this.send = new WeakRef(send);
    this.recv = new WeakRef(recv);
    this.sendLength = send.byteLength;
    this.recvLength = recv.byteLength;
    this.count = count;
    this.dtype = dtype;
    this.scalar = scalar;
    return plan;
  }

  /** The last plan if (send, recv, count, dtype, scalar) is its call again, else undefined (nothing built, nothing allocated). */
  last(config: AgreedConfig, send: unknown, recv: unknown, count: number, dtype: string, scalar: string | number | undefined): CallPlan | undefined {
    if (
      this.plan !== undefined && scalar !== undefined && ArrayBuffer.isView(send) && ArrayBuffer.isView(recv) && this.config === config && this.send?.deref() === send
      && this.recv?.deref() === recv && this.count === count && this.dtype === dtype && this.scalar === scalar && this.sendLength === send.byteLength && this.recvLength === recv.byteLength
    ) {
      return this.plan;
    }
    return undefined;
  }
}
