// Host memory: TypedArrays, reduced by lib/cpu. Reads hand out copies (the caller owns them),
// outgoing bytes are views of the user's array; writes and reductions land in the user's array.
// With a hop codec, reads and outgoing bytes are encoded payloads lent from the space's scratch
// pool until the call's finish.
import { elementBytes, type DataType, type ReduceOp, type SimpleOp } from '../dtype.js';
import { internalError } from '../errors.js';
import { bufferStateError, DETACHED, isDetached, type Located } from '../memory/buffers.js';
import type { CallMemory, Landing, MemorySpace, Region, Scratch, SwitchmlSteps } from '../memory/memory.js';
import { castFromFloat32, castToFloat32 } from './cast.js';
import { switchmlBlockExponents, switchmlDequantize, switchmlQuantize } from './switchml.js';
import { installedSwitchmlPackets, TYPESCRIPT_SWITCHML_PACKETS } from './switchml-packets.js';
import { checkPayload } from '../memory/payload.js';
import { NO_CODEC, type Codec } from '../memory/codec.js';
import { cpuReducer } from './cpu-reducer.js';
import { hostCodec, type HostCodec } from './host-codec.js';
import { premultiply } from './reduce.js';
import { foldSmall } from './small-fold.js';
import { HostScratchPool } from './scratch-pool.js';
import { readElements, writeBackElements } from './views.js';

export class CpuRegion implements Region {
  /** `what` names the argument the bytes belong to (for a buffer detached during the call). */
  constructor(readonly bytes: Uint8Array, readonly length: number, readonly what = 'scratch memory') {}
}

/** A caller's array may be transferred while a call runs: fail clearly, never on a TypeError. */
function checkAttached(bytes: Uint8Array, what: string): void {
  if (isDetached(bytes.buffer)) throw bufferStateError(what, DETACHED, true);
}

/** A region's first `count` elements as 32-bit words (host regions are aligned: TypedArrays or scratch). */
function f32(region: Region, count: number): Float32Array {
  const { bytes } = asCpu(region);
  checkAttached(bytes, asCpu(region).what);
  return new Float32Array(bytes.buffer, bytes.byteOffset, count);
}

/** Int32Array's byte order here (little-endian on every platform Node runs on). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function halves(region: Region, count: number): Uint16Array {
  const { bytes } = asCpu(region);
  checkAttached(bytes, asCpu(region).what);
  // Host regions of 16-bit calls start on even bytes (their TypedArrays' elements).
  return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
}

function i32(region: Region, count: number): Int32Array {
  const { bytes } = asCpu(region);
  checkAttached(bytes, asCpu(region).what);
  return new Int32Array(bytes.buffer, bytes.byteOffset, count);
}

function asCpu(region: Region): CpuRegion {
  if (!(region instanceof CpuRegion)) throw internalError('a host-memory call was given a region of another memory');
  return region;
}

export class CpuMemorySpace implements MemorySpace {
  readonly kind = 'cpu';
  readonly scratchPool = new HostScratchPool();

  check(): void {
    // Host arrays have no constraints beyond the size and type checks every call makes.
  }

  verify(buffers: readonly Located[]): undefined {
    for (const located of buffers) {
      if (located.kind === 'cpu' && isDetached(located.bytes.buffer)) throw bufferStateError(located.what, DETACHED);
    }
    return undefined;
  }

  startAlignment(): number {
    return 1;
  }

  region(located: Located, dtype: DataType, first: number, count: number): Region {
    if (located.kind !== 'cpu') throw internalError('host memory was given a GPU buffer');
    checkAttached(located.bytes, located.what);
    const size = elementBytes(dtype);
    return new CpuRegion(located.bytes.subarray(first * size, (first + count) * size), count, located.what);
  }

  /** Pooled across calls (scratch-pool.ts): not zeroed, as GPU scratch is not. */
  scratch(dtype: DataType, count: number): Scratch {
    const bytes = this.scratchPool.acquire(count * elementBytes(dtype));
    return { region: new CpuRegion(bytes, count), release: () => this.scratchPool.release(bytes) };
  }

  // The addon's loops when the Node side registered them (bit-identical; switchml-packets.ts),
  // else switchml.ts's directly. Chosen per call.
  readonly switchml: SwitchmlSteps = {
    exponents: async (src, count, blockSize, out) => {
      const codec = installedSwitchmlPackets();
      const exponents = i32(out, Math.ceil(count / blockSize));
      if (codec === TYPESCRIPT_SWITCHML_PACKETS) switchmlBlockExponents(f32(src, count), count, blockSize, exponents);
      else codec.blockExponents(f32(src, count), 0, count, blockSize, exponents, 0);
    },
    quantize: async (src, exponents, count, blockSize, workers, out) => {
      const codec = installedSwitchmlPackets();
      const agreed = i32(exponents, Math.ceil(count / blockSize));
      const q = i32(out, count);
      if (codec === TYPESCRIPT_SWITCHML_PACKETS) switchmlQuantize(f32(src, count), agreed, count, blockSize, workers, q);
      else codec.quantize(f32(src, count), 0, count, blockSize, agreed, 0, workers, new DataView(q.buffer, q.byteOffset, q.byteLength), 0, HOST_LITTLE_ENDIAN);
    },
    dequantize: async (sums, exponents, count, blockSize, workers, out) => {
      const codec = installedSwitchmlPackets();
      const agreed = i32(exponents, Math.ceil(count / blockSize));
      const s = i32(sums, count);
      if (codec === TYPESCRIPT_SWITCHML_PACKETS) switchmlDequantize(s, agreed, count, blockSize, workers, f32(out, count));
      else codec.dequantize(new DataView(s.buffer, s.byteOffset, s.byteLength), 0, count, blockSize, agreed, 0, workers, 1, f32(out, count), 0, HOST_LITTLE_ENDIAN);
    },
    widen: async (src, dtype, count, out) => {
      castToFloat32(f32(out, count), halves(src, count), count, dtype);
    },
    narrow: async (src, dtype, count, out) => {
      castFromFloat32(halves(out, count), f32(src, count), count, dtype);
    },
  };

  residual(count: number, lifetime: 'kept' | 'call' = 'kept'): Scratch {
    if (lifetime === 'kept') return { region: new CpuRegion(new Uint8Array(count * 4), count, 'an error-feedback residual'), release: () => undefined };
    // A call's own zeros come from the pool: a fresh array of 4 bytes an element faulted in every
    // page on its first write, as the encode's payloads did (docs/PERFORMANCE.md "pool20").
    const bytes = this.scratchPool.acquire(count * 4).fill(0);
    return {
      region: new CpuRegion(bytes, count, 'an error-feedback residual'),
      release: () => this.scratchPool.release(bytes),
      abandon: () => undefined,
    };
  }

  bind(dtype: DataType, op: ReduceOp | undefined, ranks: number, codec: Codec = NO_CODEC, residual?: Region): CallMemory {
    if (codec.identity) return new CpuCallMemory(dtype, op, ranks, codec);
    if (dtype !== 'float32') throw internalError(`codec '${codec.name}' was bound to a ${dtype} call`);
    if (codec.errorFeedback === 'always' && residual === undefined) throw internalError(`codec '${codec.name}' needs a residual`);
    if (!codec.errorFeedback && residual !== undefined) throw internalError(`codec '${codec.name}' keeps no residual`);
    return new CpuCallMemory(dtype, op, ranks, codec, hostCodec(codec.format), residual !== undefined ? asCpu(residual) : undefined, this.scratchPool);
  }

  release(): void {
    this.scratchPool.clear();
  }
}

class CpuCallMemory implements CallMemory {
  private readonly size: number;
  /** Partial results are combined with a plain binary op: premulSum was applied to inputs already. */
  private readonly combineOp: SimpleOp;
  /** Targets of the landings this memory handed out: a payload that is one was applied on arrival (made at the first). */
  private landings: WeakSet<Uint8Array> | undefined;
  /** The encoded payloads this call borrowed from the pool, given back by finish (see encode). */
  private readonly payloads: Uint8Array[] = [];
  private readonly borrowPayload = (bytes: number): Uint8Array => {
    const payload = this.payloadPool!.acquire(bytes);
    this.payloads.push(payload);
    return payload;
  };

  constructor(
    private readonly dtype: DataType, private readonly op: ReduceOp | undefined, private readonly ranks: number, private readonly codec: Codec,
    /** The hop codec's kernels (float32 only), or undefined for the identity. */
    private readonly encoding?: HostCodec,
    private readonly residual?: CpuRegion,
    /** Where encoded payloads come from (the space's scratch pool); undefined: fresh arrays. */
    private readonly payloadPool?: HostScratchPool,
  ) {
    this.size = elementBytes(dtype);
    this.combineOp = op === undefined || typeof op !== 'string' ? 'sum' : op;
  }

  private view(region: Region, at: number, count: number): Uint8Array {
    const { bytes, length, what } = asCpu(region);
    checkAttached(bytes, what);
    if (at < 0 || at + count > length) throw internalError(`elements [${at}, ${at + count}) are outside a region of ${length}`);
    return bytes.subarray(at * this.size, (at + count) * this.size);
  }

  async read(source: Region, at: number, count: number): Promise<Uint8Array> {
    if (this.encoding) return this.encode(source, at, count);
    return this.view(source, at, count).slice();
  }

  /**
   * Elements [at, at + count) encoded (error feedback: with the same elements of the residual),
   * into an array borrowed from the pool: a new one per call cost a page fault per 4 KiB page on
   * its first write, 30x the encoding itself (docs/PERFORMANCE.md, fold16 and pool20). Borrowed
   * until the call's finish: the algorithms send the payload, forward it, fold it or decode it
   * anywhere before then, and every transport's send resolves once the bytes may be reused (the
   * receiver has its own copy: inproc's slice, the socket's kernel buffer, shm's ring, or the
   * peer's ack of its read by reference), which the call awaits for every send before it ends.
   */
  private encode(source: Region, at: number, count: number): Uint8Array {
    const x = readElements('float32', this.view(source, at, count), count) as Float32Array;
    const residual = this.residual ? new Float32Array(this.residual.bytes.buffer, this.residual.bytes.byteOffset + at * 4, count) : undefined;
    return this.encoding!.encode(x, residual, this.payloadPool && this.borrowPayload);
  }

  /** Decodes a payload over elements [at, at + count) of `target`. */
  private decodeInto(target: Region, at: number, count: number, payload: Uint8Array): void {
    const view = this.view(target, at, count);
    const out = readElements('float32', view, count) as Float32Array;
    this.encoding!.decode(payload, count, out);
    writeBackElements(view, out);
  }

  /**
   * A view of the caller's array: transports send straight from it (the kernel's copy is the
   * only one). Should a call fail with such a send still in the socket's queue, the caller may
   * change the array before it is written, so that peer receives bytes of neither version; a
   * failure poisons the communicator on every rank and the peers discard the call, so nobody
   * ever uses them.
   */
  async outgoing(source: Region, at: number, count: number): Promise<Uint8Array> {
    if (this.encoding) return this.encode(source, at, count);
    return this.view(source, at, count);
  }

  /** Straight into the caller's array: folded with the same reducer as accumulate, or copied. Not with a codec (payloads are encoded). */
  landing(target: Region, at: number, count: number, fold: boolean): Landing | undefined {
    if (this.encoding) return undefined;
    const view = this.view(target, at, count);
    (this.landings ??= new WeakSet()).add(view);
    const { dtype, combineOp, size } = this;
    if (!fold) return { target: view, elementBytes: size };
    return { target: view, elementBytes: size, reduce: { dtype, op: combineOp }, fold: (into, bytes) => cpuReducer().accumulate(dtype, combineOp, into, bytes, into.byteLength / size) };
  }

  /** `bytes` is a landing's target: the transport applied it on arrival. */
  private landed(bytes: Uint8Array): boolean {
    return this.landings?.has(bytes) ?? false;
  }

  /** The region's own bytes (see Memory.inPlace); not with a codec, whose payloads are encoded. */
  inPlace(target: Region, at: number, count: number): Uint8Array | undefined {
    return this.encoding ? undefined : this.view(target, at, count);
  }

  async write(target: Region, at: number, count: number, bytes: Uint8Array): Promise<void> {
    if (this.landed(bytes)) return;
    checkPayload(bytes, count, this.dtype, this.codec);
    if (this.encoding) return this.decodeInto(target, at, count, bytes);
    const view = this.view(target, at, count);
    // The bytes inPlace lent, written over by their new value already (set would copy them
    // through a temporary, as the two share a buffer).
    if (bytes.buffer === view.buffer && bytes.byteOffset === view.byteOffset) return;
    view.set(bytes);
  }

  async accumulate(target: Region, at: number, count: number, bytes: Uint8Array): Promise<void> {
    if (this.landed(bytes)) return;
    checkPayload(bytes, count, this.dtype, this.codec);
    if (this.encoding) {
      // Decode + accumulate in one pass (codecs serve float32 sum and avg, whose partials are summed).
      if (this.combineOp !== 'sum' && this.combineOp !== 'avg') throw internalError(`codec '${this.codec.name}' folds by sum, not ${this.combineOp}`);
      const view = this.view(target, at, count);
      const acc = readElements('float32', view, count) as Float32Array;
      this.encoding.decodeAccumulate(bytes, count, acc);
      writeBackElements(view, acc);
      return;
    }
    const view = this.view(target, at, count);
    if (!foldSmall(this.dtype, this.combineOp, view, bytes, count)) cpuReducer().accumulate(this.dtype, this.combineOp, view, bytes, count);
  }

  async finalize(target: Region, at: number, count: number): Promise<void> {
    if (this.op !== 'avg') return;
    const view = this.view(target, at, count);
    cpuReducer().finishAverage(this.dtype, view, view, count, this.ranks);
  }

  // The fused primitives are the separate steps: host memory has no round trip to save.

  async recvReduceSend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array> {
    await this.accumulate(target, at, count, received);
    return this.outgoing(target, at, count);
  }

  /**
   * With a lossy codec the final elements are replaced by the decoding of the bytes returned:
   * every other rank stores that decoding, so all ranks end with the same bits.
   */
  async recvReduceCopySend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array> {
    await this.accumulate(target, at, count, received);
    await this.finalize(target, at, count);
    const sent = await this.outgoing(target, at, count);
    if (this.encoding && !this.codec.lossless) this.decodeInto(target, at, count, sent);
    return sent;
  }

  async recvCopySend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array> {
    await this.write(target, at, count, received);
    return received;
  }

  async recvReduceAll(target: Region, at: number, count: number, payloads: readonly Uint8Array[], overwrite: boolean): Promise<void> {
    for (let i = 0; i < payloads.length; i++) {
      if (i === 0 && overwrite) await this.write(target, at, count, payloads[i]!);
      else await this.accumulate(target, at, count, payloads[i]!);
    }
    await this.finalize(target, at, count);
  }

  async copy(target: Region, targetAt: number, source: Region, sourceAt: number, count: number): Promise<void> {
    // TypedArray.set copies through a temporary when both views share a buffer, so overlap is fine.
    this.view(target, targetAt, count).set(this.view(source, sourceAt, count));
  }

  async premultiply(target: Region, at: number, count: number): Promise<void> {
    if (this.op === undefined || typeof this.op === 'string') return;
    const view = this.view(target, at, count);
    premultiply(view, view, count, this.dtype, this.op.premulSum);
  }

  /**
   * Host work is done when its method returns. Called only once the call succeeded, after every
   * send resolved: the payloads go back to the pool. A failed call never gets here, so what it
   * borrowed (a send may still be reading it) is left to the collector.
   */
  finish(): undefined {
    for (const payload of this.payloads.splice(0)) this.payloadPool!.release(payload);
    return undefined;
  }
}
