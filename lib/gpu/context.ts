// Per-device state for running kernels: capabilities, the pipeline cache and the dispatch
// helper. A caller's own GPUDevice is injected here (TypeGPU-style): webccl never needs to
// own the device, and one GpuContext is shared by everything that uses the same device.
import { internalError, systemError } from '../errors.js';
import { BindGroupCache } from './bind-group-cache.js';
import { captureErrors, gpuErrorSummary } from './error-scope.js';
import { adapterName, isSoftwareAdapter } from './device.js';
import { bindRegion, type Binding, type GpuRegion } from './region.js';
import { UniformCache } from './uniform-cache.js';
import common from '../../shaders/common.wgsl';

/**
 * One compiled variant of a kernel family. Variants differ only in the prelude: WGSL alias
 * and const declarations prepended to the family's source (never copied shader text).
 */
export interface KernelVariant {
  /**
   * The family's WGSL source (a file in shaders/, or several joined). Pass the same string
   * object every time (a module constant, or memoized): it is the pipeline cache's first key.
   */
  readonly source: string;
  readonly entryPoint: string;
  /** Declarations such as `alias T = f32;` or `const OP = 2u;`, one per line. */
  readonly prelude: readonly string[];
  readonly workgroupSize: number;
  /**
   * Consecutive units (words, vec4s, values: the kernel says) each thread handles; default 1.
   * On lavapipe, where a dispatch costs mostly per invocation, a few units per thread run
   * several times faster, and real GPUs lose nothing by it.
   */
  readonly unitsPerThread?: number;
  /** How a thread's units lie in memory (thread_unit in shaders/common.wgsl); default: the context's unitLayout. */
  readonly unitLayout?: UnitLayout;
}

/**
 * 'coalesced': a workgroup's threads take neighbouring units at each step (what GPU memory
 * needs); 'consecutive': each thread takes a run of neighbouring units (what lavapipe, which
 * runs an invocation's loop on one CPU core, prefers). Only kernels that use thread_unit heed it.
 */
export type UnitLayout = 'coalesced' | 'consecutive';

export class GpuContext {
  private static readonly contexts = new WeakMap<GPUDevice, GpuContext>();

  /** The context of an existing device (created on first use, then shared). */
  static for(device: GPUDevice): GpuContext {
    let context = GpuContext.contexts.get(device);
    if (!context) {
      context = new GpuContext(device);
      GpuContext.contexts.set(device, context);
    }
    return context;
  }

  readonly hasF16: boolean;
  readonly hasTimestamps: boolean;
  readonly adapterName: string;
  /**
   * A CPU implementation of WebGPU (lavapipe, SwiftShader): invocations run one after another,
   * so barriers cost per thread and kernels may pick a layout with fewer of them.
   */
  readonly isSoftwareAdapter: boolean;
  /** Largest byte range one storage binding may cover. */
  readonly maxBindingBytes: number;
  readonly bindingAlignment: number;
  readonly maxWorkgroupsPerDimension: number;
  /** The unit layout of variants that name none: 'consecutive' on software adapters, else 'coalesced'. */
  readonly unitLayout: UnitLayout;
  /** source -> (entry point and prelude) -> pipeline. */
  private readonly pipelines = new Map<string, Map<string, GPUComputePipeline>>();
  /** Variant objects a family reuses across calls (reduce's): found without building the key. */
  private readonly byVariant = new WeakMap<KernelVariant, GPUComputePipeline>();
  /**
   * GPU round trips waited for on this device so far: run()'s completions and mapAsync reads
   * (readRegion, GPU memory). Counters only, for tests and benchmarks to count a schedule's waits.
   */
  readonly waits = { completions: 0, maps: 0 };
  private readonly uniforms: UniformCache;
  private readonly bindGroups: BindGroupCache;

  private constructor(readonly device: GPUDevice) {
    this.hasF16 = device.features.has('shader-f16');
    this.hasTimestamps = device.features.has('timestamp-query');
    this.adapterName = adapterName(device);
    this.isSoftwareAdapter = isSoftwareAdapter(device);
    this.maxBindingBytes = device.limits.maxStorageBufferBindingSize;
    this.bindingAlignment = device.limits.minStorageBufferOffsetAlignment;
    this.maxWorkgroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension;
    this.unitLayout = this.isSoftwareAdapter ? 'consecutive' : 'coalesced';
    this.uniforms = new UniformCache(device);
    this.bindGroups = new BindGroupCache(device);
  }

  /** The entry points compiled so far from sources containing `fragment` (diagnostics, and tests that check which kernels a path ran). */
  compiledFrom(fragment: string): string[] {
    const entries: string[] = [];
    for (const [source, variants] of this.pipelines) {
      if (source.includes(fragment)) for (const key of variants.keys()) entries.push(key.slice(0, key.indexOf('\n')));
    }
    return entries;
  }

  /** The compiled pipeline for a variant, built once per distinct (source, entry, prelude, size). */
  pipeline(variant: KernelVariant): GPUComputePipeline {
    const known = this.byVariant.get(variant);
    if (known) return known;
    const prelude = [
      ...variant.prelude, `const WORKGROUP_SIZE = ${variant.workgroupSize}u;`, `const UNITS_PER_THREAD = ${variant.unitsPerThread ?? 1}u;`,
      `const COALESCED_UNITS = ${(variant.unitLayout ?? this.unitLayout) === 'coalesced'};`,
    ];
    // Looked up by source first, never by a key containing it: a family's source is a string
    // of several KiB made once per module (V8 keeps its hash), while building a key around it
    // on every dispatch cost ~30 us per dispatch on small messages (allocation, hashing, GC).
    let variants = this.pipelines.get(variant.source);
    if (!variants) this.pipelines.set(variant.source, (variants = new Map()));
    const key = `${variant.entryPoint}\n${prelude.join('\n')}`;
    let pipeline = variants.get(key);
    if (!pipeline) {
      const code = `${prelude.join('\n')}\n${common}\n${variant.source}`;
      const module = this.device.createShaderModule({ code, label: variant.entryPoint });
      pipeline = this.device.createComputePipeline({
        layout: 'auto', compute: { module, entryPoint: variant.entryPoint }, label: variant.entryPoint,
      });
      variants.set(key, pipeline);
    }
    this.byVariant.set(variant, pipeline);
    return pipeline;
  }

  /** buffer.mapAsync for reading, counted in `waits`. */
  mapForRead(buffer: GPUBuffer, size: number): Promise<void> {
    this.waits.maps++;
    return buffer.mapAsync(GPUMapMode.READ, 0, size);
  }

  bind(r: GpuRegion, byteLength: number): Binding {
    return bindRegion(r, byteLength, this.bindingAlignment);
  }

  /**
   * Records one dispatch over `units` units of work, variant.unitsPerThread to a thread.
   * Binding 0 is a uniform buffer holding `params` (32-bit words); bindings 1.. are the storage
   * ranges, in order. Grids larger than one dimension allows are folded into two (see
   * linear_index in shaders/common.wgsl). Uniform buffers and bind groups are reused across
   * dispatches with the same contents (uniform-cache.ts, bind-group-cache.ts).
   */
  dispatch(
    encoder: GPUCommandEncoder, variant: KernelVariant, params: Uint32Array,
    storage: readonly GPUBufferBinding[], units: number,
  ): void {
    if (units <= 0) return;
    const workgroups = Math.ceil(units / (variant.unitsPerThread ?? 1) / variant.workgroupSize);
    const x = Math.min(workgroups, this.maxWorkgroupsPerDimension);
    const y = Math.ceil(workgroups / x);
    if (y > this.maxWorkgroupsPerDimension) throw internalError(`dispatch of ${workgroups} workgroups exceeds the device's grid`);
    // params[0] is reserved for the unit count so that padded threads can exit early.
    const words = new Uint32Array(Math.max(4, Math.ceil((params.length + 1) / 4) * 4));
    words[0] = units;
    words.set(params, 1);
    const pipeline = this.pipeline(variant);
    const uniform = this.uniforms.get(words);
    const bindGroup = this.bindGroups.get(pipeline, uniform, storage);
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }

  /**
   * Encodes with `record`, submits, and resolves when the GPU has finished. Validation and
   * out-of-memory errors raised by the work become a rejected promise instead of a console line.
   */
  async run(record: (encoder: GPUCommandEncoder) => void): Promise<void> {
    await this.submit(record, true);
  }

  /**
   * Like run, but resolves once the error scopes are known, without waiting for the GPU to
   * finish: for work that later queue operations (a mapAsync, another submit) are ordered after.
   */
  async submit(record: (encoder: GPUCommandEncoder) => void, waitForCompletion = false): Promise<void> {
    const accepted = captureErrors(this.device, () => {
      const encoder = this.device.createCommandEncoder();
      record(encoder);
      this.device.queue.submit([encoder.finish()]);
    });
    if (waitForCompletion) this.waits.completions++;
    // The scopes and the completion are awaited together: one wait, not a pop and then a wait.
    const [error] = await Promise.all([accepted, waitForCompletion ? this.device.queue.onSubmittedWorkDone() : undefined]);
    if (error) throw systemError(`GPU rejected the work: ${gpuErrorSummary(error)}`);
  }
}
