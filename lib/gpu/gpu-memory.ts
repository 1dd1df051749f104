// Device memory: GPUBuffers of one device, reduced by the WGSL kernels of lib/gpu. Bytes
// reach the host through pooled MAP_READ staging buffers and reach the device through
// queue.writeBuffer (or pooled STORAGE staging when a kernel must read them); scratch regions
// come from a pool too. Pools grow to what a call's pipelines hold at once and are then reused,
// never re-created per chunk.
//
// No GPU work whose result may be sent goes unchecked: the caller's buffers are probed before
// a call sends anything (verify), and every submission runs in an error scope (lib/gpu/
// error-scope.ts). Writes and copies are not waited for one by one; their scopes are awaited
// before the next read (whose bytes may be sent) and before the call resolves.
//
// WebGPU copies move whole 4-byte words, so a region must start on a word: 16-bit elements
// come in pairs (block-structured calls need even per-rank counts), and an odd 16-bit tail is
// written by read-modify-write of its last word, whose other half is left as it was.
import { MAX_INPUTS } from '../cpu/reduction.js';
import { elementBytes, opName, type DataType, type ReduceOp } from '../dtype.js';
import { internalError, invalidArgument, systemError } from '../errors.js';
import { bufferStateError, type Located } from '../memory/buffers.js';
import type { CallMemory, MemorySpace, Region, Scratch, SwitchmlSteps } from '../memory/memory.js';
import { prepareCastFromFloat32, prepareCastToFloat32 } from './cast.js';
import { prepareSwitchmlBlockExponents, prepareSwitchmlDequantize, prepareSwitchmlQuantize } from './switchml.js';
import { checkPayload } from '../memory/payload.js';
import { NO_CODEC, type Codec } from '../memory/codec.js';
import { BufferPool } from './buffer-pool.js';
import { GpuContext } from './context.js';
import { captureErrors, gpuErrorSummary } from './error-scope.js';
import { gpuHopCodec, type GpuHopCodec } from './hop-codec.js';
import type { Recorder } from './kernel.js';
import { encodeFinishAverage, encodePremultiply, encodeReduceAccumulate } from './reduce.js';
import type { GpuRegion } from './region.js';
import { readRegion, writeRegion } from './transfer.js';

/** The usage a GPUBuffer given to a call needs. Read at use, not at import: the WebGPU globals exist only once a GPU entry point was loaded. */
export const requiredUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const align4 = (n: number) => Math.ceil(n / 4) * 4;
const EMPTY = new Uint8Array(0);
/** Sources one accumulate dispatch reads besides its destination. */
const MAX_ACCUMULATE_SOURCES = MAX_INPUTS - 1;

export class GpuSpan implements Region {
  constructor(readonly buffer: GPUBuffer, readonly byteOffset: number, readonly length: number) {}

  at(element: number, bytesPerElement: number): GpuRegion {
    return { buffer: this.buffer, byteOffset: this.byteOffset + element * bytesPerElement };
  }
}

function asGpu(region: Region): GpuSpan {
  if (!(region instanceof GpuSpan)) throw internalError('a GPU call was given a region of another memory');
  return region;
}

export class GpuMemorySpace implements MemorySpace {
  readonly kind = 'gpu';
  readonly context: GpuContext;
  /** Host-visible copies of device bytes on their way out. */
  readonly readback: BufferPool;
  /** Received bytes on their way into a kernel. */
  readonly upload: BufferPool;
  readonly scratchPool: BufferPool;
  /** The destination of verify's empty probe copies. */
  private probeTarget: GPUBuffer | undefined;
  /** Caller's buffers verify found to be of this device (that never changes). */
  private readonly owned = new WeakSet<GPUBuffer>();

  constructor(readonly device: GPUDevice) {
    this.context = GpuContext.for(device);
    this.readback = new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'webccl readback');
    this.upload = new BufferPool(device, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'webccl upload');
    this.scratchPool = new BufferPool(device, requiredUsage(), 'webccl scratch');
  }

  /** Staging and scratch buffers created so far (for tests and diagnostics). */
  get buffersCreated(): number {
    return this.readback.created + this.upload.created + this.scratchPool.created;
  }

  startAlignment(dtype: DataType): number {
    return 4 / Math.min(4, elementBytes(dtype));
  }

  check(what: string, located: Located, dtype: DataType, count: number): void {
    if (located.kind !== 'gpu') throw internalError('GPU memory was given host memory');
    if ((located.buffer.usage & requiredUsage()) !== requiredUsage()) {
      throw invalidArgument(`${what}: the GPUBuffer needs usage STORAGE | COPY_SRC | COPY_DST (has ${located.buffer.usage})`);
    }
    const needed = located.byteOffset + align4(count * elementBytes(dtype));
    if (needed > located.buffer.size) {
      throw invalidArgument(`${what}: needs ${needed} bytes (offset, then ${count} ${dtype} elements rounded up to whole words) but the GPUBuffer holds ${located.buffer.size}`);
    }
  }

  /**
   * WebGPU has no way to ask a GPUBuffer whether it was destroyed or which device made it
   * (Dawn's size, usage and mapState stay as they were after destroy()), so buffers are probed:
   * recording a copy from a buffer of another device fails (checked once per buffer: a buffer
   * never changes device), and an empty queue.writeBuffer to a destroyed one fails. All of a
   * call's buffers share one scope; only when it caught something is each probed alone, to
   * name the argument. Cost: a wait for the scope (~10-40 us on lavapipe), not for the GPU.
   */
  async verify(buffers: readonly Located[]): Promise<void> {
    const unique = new Map<GPUBuffer, Located>();
    for (const located of buffers) if (located.kind === 'gpu' && !unique.has(located.buffer)) unique.set(located.buffer, located);
    if (unique.size === 0) return;
    for (const [buffer, located] of unique) {
      if (buffer.mapState !== 'unmapped') throw bufferStateError(located.what, `the GPUBuffer is ${buffer.mapState === 'mapped' ? 'mapped' : 'being mapped'} (unmap it first)`);
    }
    const strangers = [...unique].filter(([buffer]) => !this.owned.has(buffer));
    const [foreign, refused] = await Promise.all([
      Promise.all(strangers.map(([buffer]) => this.recordProbe(buffer))),
      this.writeProbe([...unique.keys()]),
    ]);
    const index = foreign.findIndex((error) => error !== null);
    if (index >= 0) {
      throw bufferStateError(strangers[index]![1].what, `the GPUBuffer belongs to another GPUDevice than the communicator's (${gpuErrorSummary(foreign[index]!)})`);
    }
    for (const [buffer] of strangers) this.owned.add(buffer);
    if (!refused) return;
    for (const [buffer, located] of unique) {
      const error = await this.writeProbe([buffer]);
      if (error) {
        const problem = /destroy/i.test(error.message) ? 'the GPUBuffer was destroyed' : `the GPU refused the GPUBuffer (${gpuErrorSummary(error)})`;
        throw bufferStateError(located.what, problem);
      }
    }
    throw bufferStateError(buffers.map((located) => located.what).join(', '), `the GPU refused a buffer (${gpuErrorSummary(refused)})`);
  }

  /** Fails if `buffer` cannot be used with this device at all. */
  private recordProbe(buffer: GPUBuffer): Promise<GPUError | null> {
    this.probeTarget ??= this.device.createBuffer({ size: 4, usage: GPUBufferUsage.COPY_DST, label: 'webccl probe' });
    const target = this.probeTarget;
    return captureErrors(this.device, () => {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(buffer, 0, target, 0, 0);
      encoder.finish();
    });
  }

  /** Fails if one of the buffers (of this device) was destroyed: writing nothing still checks. */
  private writeProbe(buffers: readonly GPUBuffer[]): Promise<GPUError | null> {
    return captureErrors(this.device, () => {
      for (const buffer of buffers) this.device.queue.writeBuffer(buffer, 0, EMPTY);
    });
  }

  region(located: Located, dtype: DataType, first: number, count: number): Region {
    if (located.kind !== 'gpu') throw internalError('GPU memory was given host memory');
    return new GpuSpan(located.buffer, located.byteOffset + first * elementBytes(dtype), count);
  }

  scratch(dtype: DataType, count: number): Scratch {
    const buffer = this.scratchPool.acquire(count * elementBytes(dtype));
    return { region: new GpuSpan(buffer, 0, count), release: () => this.scratchPool.release(buffer) };
  }

  /** Each step is one submission; the integer allreduce between them waits for it anyway (its reads map). */
  readonly switchml: SwitchmlSteps = {
    exponents: (src, count, blockSize, out) => this.submitStep(
      prepareSwitchmlBlockExponents(this.context, { src: asGpu(src).at(0, 4), exponents: asGpu(out).at(0, 4), count, blockSize })),
    quantize: (src, exponents, count, blockSize, workers, out) => this.submitStep(prepareSwitchmlQuantize(this.context, {
      src: asGpu(src).at(0, 4), exponents: asGpu(exponents).at(0, 4), dst: asGpu(out).at(0, 4), count, blockSize, workers,
    })),
    dequantize: (sums, exponents, count, blockSize, workers, out) => this.submitStep(prepareSwitchmlDequantize(this.context, {
      src: asGpu(sums).at(0, 4), exponents: asGpu(exponents).at(0, 4), dst: asGpu(out).at(0, 4), count, blockSize, workers,
    })),
    // Call regions of GPU buffers start on 4-byte boundaries (buffers.ts), as the packed halves need.
    widen: (src, dtype, count, out) => this.submitStep(prepareCastToFloat32(this.context, asGpu(out).at(0, 4), asGpu(src).at(0, 2), count, dtype)),
    narrow: (src, dtype, count, out) => this.submitStep(prepareCastFromFloat32(this.context, asGpu(out).at(0, 2), asGpu(src).at(0, 4), count, dtype)),
  };

  private async submitStep(record: Recorder): Promise<void> {
    await this.context.submit(record);
  }

  /** A buffer of its own (WebGPU zero-fills new buffers), destroyed on release. */
  residual(count: number): Scratch {
    const buffer = this.device.createBuffer({ size: Math.max(4, count * 4), usage: requiredUsage(), label: 'webccl error-feedback residual' });
    return { region: new GpuSpan(buffer, 0, count), release: () => buffer.destroy() };
  }

  bind(dtype: DataType, op: ReduceOp | undefined, ranks: number, codec: Codec = NO_CODEC, residual?: Region): CallMemory {
    if (codec.identity) return new GpuCallMemory(this, dtype, op, ranks, codec);
    if (dtype !== 'float32') throw internalError(`codec '${codec.name}' was bound to a ${dtype} call`);
    if (codec.errorFeedback === 'always' && residual === undefined) throw internalError(`codec '${codec.name}' needs a residual`);
    if (!codec.errorFeedback && residual !== undefined) throw internalError(`codec '${codec.name}' keeps no residual`);
    return new GpuCallMemory(this, dtype, op, ranks, codec, gpuHopCodec(codec.format), residual !== undefined ? asGpu(residual) : undefined);
  }

  release(): void {
    this.readback.destroy();
    this.upload.destroy();
    this.scratchPool.destroy();
    this.probeTarget?.destroy();
    this.probeTarget = undefined;
  }
}

class GpuCallMemory implements CallMemory {
  private readonly size: number;
  /** Partial results are combined with a plain binary op: premulSum was applied to inputs already. */
  private readonly combineOp: ReduceOp;
  /** Error scopes of writes and copies not yet awaited (see the top of this file). */
  private unchecked: Promise<void>[] = [];

  constructor(
    private readonly space: GpuMemorySpace, private readonly dtype: DataType, private readonly op: ReduceOp | undefined,
    private readonly ranks: number, private readonly codec: Codec,
    /** The hop codec's kernels (float32 only), or undefined for the identity. */
    private readonly encoding?: GpuHopCodec,
    private readonly residual?: GpuSpan,
  ) {
    this.size = elementBytes(dtype);
    this.combineOp = op === undefined || opName(op) === 'premulSum' ? 'sum' : op;
  }

  private place(region: Region, at: number, count: number): GpuRegion {
    const span = asGpu(region);
    if (at < 0 || at + count > span.length) throw internalError(`elements [${at}, ${at + count}) are outside a region of ${span.length}`);
    const place = span.at(at, this.size);
    if (place.byteOffset % 4 !== 0) throw internalError(`element ${at} of a ${this.dtype} GPU region does not start on a word`);
    return place;
  }

  /** Submits `action`'s work now; its error scopes are checked by the next read or finish. */
  private unawaited(what: string, action: () => void): void {
    const check = captureErrors(this.space.device, action).then((error) => {
      if (error) throw systemError(`GPU rejected a ${what}: ${gpuErrorSummary(error)}`);
    });
    check.catch(() => undefined); // reported where it is awaited
    this.unchecked.push(check);
  }

  private async checkEarlier(): Promise<void> {
    if (this.unchecked.length === 0) return;
    const pending = this.unchecked;
    this.unchecked = [];
    await Promise.all(pending);
  }

  private writeChecked(place: GpuRegion, bytes: Uint8Array): void {
    this.unawaited('write', () => writeRegion(this.space.device, place, bytes));
  }

  async read(source: Region, at: number, count: number): Promise<Uint8Array> {
    if (this.encoding) return this.codecStep(source, at, count, { encode: true });
    const bytes = count * this.size;
    if (bytes === 0) return new Uint8Array(0);
    const staging = this.space.readback.acquire(bytes);
    try {
      // The bytes read may be sent: every earlier write and copy must have been accepted too.
      const [data] = await Promise.all([readRegion(this.space.device, this.place(source, at, count), bytes, staging), this.checkEarlier()]);
      return data;
    } finally {
      this.space.readback.release(staging);
    }
  }

  finish(): Promise<void> {
    return this.checkEarlier();
  }

  /** GPU memory cannot be sent from: bytes to send are a staged copy. */
  outgoing(source: Region, at: number, count: number): Promise<Uint8Array> {
    return this.read(source, at, count);
  }

  async write(target: Region, at: number, count: number, bytes: Uint8Array): Promise<void> {
    checkPayload(bytes, count, this.dtype, this.codec);
    if (count === 0) return;
    if (this.encoding) {
      // Decoded straight into place; nothing waits for it but the next read or finish.
      const place = this.place(target, at, count);
      const upload = this.space.upload.acquire(bytes.byteLength);
      const decode = this.encoding.prepareDecode(this.space.context, { buffer: upload, byteOffset: 0 }, place, count);
      this.unawaited('decode', () => {
        writeRegion(this.space.device, { buffer: upload, byteOffset: 0 }, bytes.byteLength % 4 === 0 ? bytes : copyPadded(bytes));
        const encoder = this.space.device.createCommandEncoder();
        decode(encoder);
        this.space.device.queue.submit([encoder.finish()]);
      });
      this.space.upload.release(upload); // later users are ordered after this submission
      return;
    }
    const place = this.place(target, at, count);
    const whole = bytes.byteLength - (bytes.byteLength % 4);
    if (whole > 0) this.writeChecked(place, bytes.subarray(0, whole));
    if (whole < bytes.byteLength) {
      // An odd 16-bit tail: keep the other half of its word, which is not ours.
      const tail = { buffer: place.buffer, byteOffset: place.byteOffset + whole };
      const word = await this.read(new GpuSpan(tail.buffer, tail.byteOffset, 4 / this.size), 0, 4 / this.size);
      word.set(bytes.subarray(whole));
      this.writeChecked(tail, word);
    }
  }

  async accumulate(target: Region, at: number, count: number, bytes: Uint8Array): Promise<void> {
    checkPayload(bytes, count, this.dtype, this.codec);
    if (count === 0) return;
    if (this.encoding) {
      await this.codecStep(target, at, count, { received: bytes });
      return;
    }
    const dst = this.place(target, at, count);
    const staging = this.space.upload.acquire(bytes.byteLength);
    try {
      const padded = bytes.byteLength % 4 === 0 ? bytes : copyPadded(bytes);
      this.writeChecked({ buffer: staging, byteOffset: 0 }, padded);
      await this.space.context.run((encoder) => encodeReduceAccumulate(
        this.space.context, encoder, dst, [{ buffer: staging, byteOffset: 0 }], count, this.dtype, this.combineOp,
      ));
    } finally {
      this.space.upload.release(staging);
    }
  }

  recvReduceSend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array> {
    if (this.encoding) return this.codecStep(target, at, count, { received, encode: true });
    return this.reduceAndRead(target, at, count, received, false);
  }

  /**
   * With a lossy codec the final elements are replaced by the decoding of the bytes returned
   * (in the same submission): every other rank stores that decoding, so all end with the same bits.
   */
  recvReduceCopySend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array> {
    if (this.encoding) {
      return this.codecStep(target, at, count, { received, average: this.op === 'avg', encode: true, writeBack: !this.codec.lossless });
    }
    return this.reduceAndRead(target, at, count, received, this.op === 'avg');
  }

  /**
   * One submission of a compressed step on elements [at, at + count) of `target`: fold the
   * received payload in (decode + accumulate, one fused kernel), divide (avg), encode the
   * result into staging streams copied to a readback buffer (reduce + encode), and decode those
   * streams back over the result (writeBack). Waits once: for the mapping when it encodes,
   * else for the GPU.
   */
  private async codecStep(
    target: Region, at: number, count: number,
    step: { received?: Uint8Array; average?: boolean; encode?: boolean; writeBack?: boolean },
  ): Promise<Uint8Array> {
    const encoding = this.encoding!;
    if (step.received) checkPayload(step.received, count, this.dtype, this.codec);
    if (count === 0) return new Uint8Array(0);
    const { context, device } = this.space;
    const dst = this.place(target, at, count);
    const payloadBytes = this.codec.encodedBytes(count, this.dtype);
    const held: [BufferPool, GPUBuffer][] = [];
    const take = (pool: BufferPool, bytes: number) => {
      const buffer = pool.acquire(bytes);
      held.push([pool, buffer]);
      return buffer;
    };
    let readback: GPUBuffer | undefined;
    try {
      // Every recorder is prepared (and so checked) before anything is submitted.
      const recorders: Recorder[] = [];
      let upload: GPUBuffer | undefined;
      if (step.received) {
        // Codecs serve float32 sum and avg, whose partials are summed: one fused kernel.
        if (this.combineOp !== 'sum' && this.combineOp !== 'avg') throw internalError(`codec '${this.codec.name}' folds by sum, not ${String(this.combineOp)}`);
        upload = take(this.space.upload, step.received.byteLength);
      }
      const uploaded = upload && { buffer: upload, byteOffset: 0 };
      // Fold then encode with nothing between them (recvReduceSend): one fused pass where the codec has one.
      const foldEncodes = uploaded !== undefined && step.encode && !step.average;
      if (uploaded && !foldEncodes) recorders.push(encoding.prepareDecodeAccumulate(context, uploaded, dst, count));
      if (step.average) recorders.push((encoder) => encodeFinishAverage(context, encoder, dst, dst, count, this.dtype, this.ranks));
      if (step.encode) {
        const sizes = encoding.streams(count);
        const streams = sizes.map((bytes) => take(this.space.scratchPool, bytes));
        const residual = this.residual?.at(at, 4);
        recorders.push(foldEncodes
          ? encoding.prepareFoldEncode(context, uploaded, dst, count, streams, residual)
          : encoding.prepareEncode(context, dst, count, streams, residual));
        readback = this.space.readback.acquire(align4(payloadBytes));
        const into = readback;
        recorders.push((encoder) => {
          let offset = 0;
          for (const [i, stream] of streams.entries()) {
            encoder.copyBufferToBuffer(stream, 0, into, offset, sizes[i]!);
            offset += sizes[i]!;
          }
        });
        if (step.writeBack) {
          // The streams are the payload's parts in order; decode them back as one payload.
          if (streams.length === 1) recorders.push(encoding.prepareDecode(context, { buffer: streams[0]!, byteOffset: 0 }, dst, count));
          else {
            const joined = take(this.space.scratchPool, align4(payloadBytes));
            recorders.push((encoder) => {
              let offset = 0;
              for (const [i, stream] of streams.entries()) {
                encoder.copyBufferToBuffer(stream, 0, joined, offset, sizes[i]!);
                offset += sizes[i]!;
              }
            });
            recorders.push(encoding.prepareDecode(context, { buffer: joined, byteOffset: 0 }, dst, count));
          }
        }
      }
      const received = step.received;
      const submitted = captureErrors(device, () => {
        if (upload && received) writeRegion(device, { buffer: upload, byteOffset: 0 }, received.byteLength % 4 === 0 ? received : copyPadded(received));
        const encoder = device.createCommandEncoder();
        for (const record of recorders) record(encoder);
        device.queue.submit([encoder.finish()]);
      });
      // The bytes may be sent: earlier writes and copies must have been accepted too.
      const [error] = await Promise.all([
        submitted,
        readback ? context.mapForRead(readback, align4(payloadBytes)) : device.queue.onSubmittedWorkDone(),
        this.checkEarlier(),
      ]);
      if (error) throw systemError(`GPU rejected a ${this.codec.name} step: ${gpuErrorSummary(error)}`);
      return readback ? new Uint8Array(readback.getMappedRange(0, align4(payloadBytes)), 0, payloadBytes).slice() : new Uint8Array(0);
    } finally {
      if (readback) {
        if (readback.mapState === 'mapped') readback.unmap();
        this.space.readback.release(readback);
      }
      for (const [pool, buffer] of held) pool.release(buffer);
    }
  }

  /** Received bytes go to the device by queue.writeBuffer (no wait) and are forwarded as they came. */
  async recvCopySend(target: Region, at: number, count: number, received: Uint8Array): Promise<Uint8Array> {
    await this.write(target, at, count, received);
    return received;
  }

  /**
   * One submission and one wait for what accumulate, finalize and read do in three: the
   * received bytes go into a pooled upload buffer (queue.writeBuffer, ordered before the
   * submission), and the reduce, avg's division and the copy of the result into a readback
   * buffer are recorded into one encoder, whose mapping is the only wait.
   */
  private async reduceAndRead(target: Region, at: number, count: number, received: Uint8Array, average: boolean): Promise<Uint8Array> {
    checkPayload(received, count, this.dtype, this.codec);
    if (count === 0) return new Uint8Array(0);
    const dst = this.place(target, at, count);
    const bytes = count * this.size;
    const size = align4(bytes);
    const { context, device } = this.space;
    const upload = this.space.upload.acquire(bytes);
    const readback = this.space.readback.acquire(bytes);
    try {
      const source = { buffer: upload, byteOffset: 0 };
      const submitted = captureErrors(device, () => {
        writeRegion(device, source, bytes % 4 === 0 ? received : copyPadded(received));
        const encoder = device.createCommandEncoder();
        encodeReduceAccumulate(context, encoder, dst, [source], count, this.dtype, this.combineOp);
        if (average) encodeFinishAverage(context, encoder, dst, dst, count, this.dtype, this.ranks);
        encoder.copyBufferToBuffer(dst.buffer, dst.byteOffset, readback, 0, size);
        device.queue.submit([encoder.finish()]);
      });
      // The bytes may be sent: earlier writes and copies must have been accepted too.
      const [error] = await Promise.all([submitted, context.mapForRead(readback, size), this.checkEarlier()]);
      if (error) throw systemError(`GPU rejected a reduce: ${gpuErrorSummary(error)}`);
      return new Uint8Array(readback.getMappedRange(0, size), 0, bytes).slice();
    } finally {
      if (readback.mapState === 'mapped') readback.unmap();
      this.space.upload.release(upload);
      this.space.readback.release(readback);
    }
  }

  /**
   * The whole reduction of a small call in one submission: the payloads go into one pooled
   * upload buffer (queue.writeBuffer, no round trip), and the write, the accumulates (in payload
   * order) and avg's division are recorded into one encoder. 32-bit dtypes fold up to seven
   * payloads per dispatch: the kernel combines them in order in the same 32-bit type as
   * one-by-one accumulates do, so the bits are the same. 16-bit dtypes keep one dispatch per
   * payload, because the kernel's f32 accumulator would round only once where one-by-one
   * accumulates round after every step.
   */
  async recvReduceAll(target: Region, at: number, count: number, payloads: readonly Uint8Array[], overwrite: boolean): Promise<void> {
    for (const payload of payloads) checkPayload(payload, count, this.dtype, this.codec);
    if (count === 0) return;
    if (this.encoding) {
      // Payload by payload, in order, as one-by-one writes and accumulates do.
      for (const [i, payload] of payloads.entries()) {
        if (i === 0 && overwrite) await this.write(target, at, count, payload);
        else await this.codecStep(target, at, count, { received: payload });
      }
      await this.finalize(target, at, count);
      return;
    }
    const dst = this.place(target, at, count);
    const bytes = count * this.size;
    let sources = payloads;
    if (overwrite && payloads.length > 0) {
      if (bytes % 4 === 0) this.writeChecked(dst, payloads[0]!);
      else await this.write(target, at, count, payloads[0]!); // an odd 16-bit tail: read-modify-write
      sources = payloads.slice(1);
    }
    const average = this.op === 'avg';
    if (sources.length === 0 && !average) return;
    const context = this.space.context;
    const stride = Math.ceil(bytes / context.bindingAlignment) * context.bindingAlignment;
    const staging = sources.length > 0 ? this.space.upload.acquire(stride * sources.length) : undefined;
    try {
      const places = sources.map((payload, i) => {
        const place = { buffer: staging!, byteOffset: i * stride };
        this.writeChecked(place, payload.byteLength % 4 === 0 ? payload : copyPadded(payload));
        return place;
      });
      const perDispatch = this.size === 4 ? MAX_ACCUMULATE_SOURCES : 1;
      await context.run((encoder) => {
        for (let i = 0; i < places.length; i += perDispatch) {
          encodeReduceAccumulate(context, encoder, dst, places.slice(i, i + perDispatch), count, this.dtype, this.combineOp);
        }
        if (average) encodeFinishAverage(context, encoder, dst, dst, count, this.dtype, this.ranks);
      });
    } finally {
      if (staging) this.space.upload.release(staging);
    }
  }

  async finalize(target: Region, at: number, count: number): Promise<void> {
    if (this.op !== 'avg' || count === 0) return;
    const place = this.place(target, at, count);
    await this.space.context.run((encoder) => encodeFinishAverage(this.space.context, encoder, place, place, count, this.dtype, this.ranks));
  }

  async premultiply(target: Region, at: number, count: number): Promise<void> {
    if (this.op === undefined || typeof this.op === 'string' || count === 0) return;
    const place = this.place(target, at, count);
    const scalar = this.op.premulSum;
    // Nothing reads the premultiplied input but later queue work (a read's mapAsync, a kernel),
    // which the queue orders after this dispatch: no need to wait for the GPU here.
    await this.space.context.submit((encoder) => encodePremultiply(this.space.context, encoder, place, place, count, this.dtype, scalar));
  }

  async copy(target: Region, targetAt: number, source: Region, sourceAt: number, count: number): Promise<void> {
    if (count === 0) return;
    const to = this.place(target, targetAt, count);
    const from = this.place(source, sourceAt, count);
    const whole = count * this.size - ((count * this.size) % 4);
    if (whole > 0) {
      const overlapping = to.buffer === from.buffer && to.byteOffset < from.byteOffset + whole && from.byteOffset < to.byteOffset + whole;
      // WebGPU refuses overlapping copies within one buffer: those go through scratch.
      const bounce = overlapping ? this.space.scratchPool.acquire(whole) : undefined;
      this.unawaited('copy', () => {
        const encoder = this.space.device.createCommandEncoder();
        if (bounce) {
          encoder.copyBufferToBuffer(from.buffer, from.byteOffset, bounce, 0, whole);
          encoder.copyBufferToBuffer(bounce, 0, to.buffer, to.byteOffset, whole);
        } else {
          encoder.copyBufferToBuffer(from.buffer, from.byteOffset, to.buffer, to.byteOffset, whole);
        }
        this.space.device.queue.submit([encoder.finish()]);
      });
      if (bounce) this.space.scratchPool.release(bounce); // later users are ordered after this submit
    }
    if (whole < count * this.size) {
      const last = count - 1;
      await this.write(target, targetAt + last, 1, await this.read(source, sourceAt + last, 1));
    }
  }
}

function copyPadded(bytes: Uint8Array): Uint8Array {
  const padded = new Uint8Array(align4(bytes.byteLength));
  padded.set(bytes);
  return padded;
}
