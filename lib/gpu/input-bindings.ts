// The WGSL side of bind-with-dst.ts: the input bindings a kernel variant declares and the
// function that reads input j, generated as prelude lines. Which inputs are read through dst
// is known before recording (it depends only on which buffers the call's regions live in), so
// it is part of the variant: an input in dst's buffer gets no binding at all, every other
// input gets exactly one, and a variant declares only the storage buffers it binds. WebGPU's
// default maxStorageBuffersPerShaderStage is 8, and a device injected by a caller usually has
// just that; a fixed set of declared inputs would need placeholders bound for the unused ones
// and would count them against the limit.
//
// Binding 0 is the uniform block and binding 1 is dst (declared by the family's source, once
// per view); inputs with their own binding follow from binding 2 in input order, which is the
// order of inputStorage's list.
import { invalidArgument } from '../errors.js';
import type { Bound } from './bind-with-dst.js';
import type { GpuContext } from './context.js';

/** One way of looking at the bindings: an element type, dst's name and the reader's name. */
export interface InputView {
  /** WGSL element type of the arrays, e.g. `u32` or `vec4u`. */
  readonly element: string;
  /** The family's name for dst seen as array<element>. */
  readonly dst: string;
  /** The generated reader, `fn <reader>(j: u32, at: u32) -> <element>`: element `at` of input j's binding. */
  readonly reader: string;
  /** Appended to each input binding's name (`in<j><suffix>`), distinct per view. */
  readonly suffix: string;
}

/** The u32 view every family reads through, and the vec4 view of the reduce family. */
export const WORD_VIEW: InputView = { element: 'u32', dst: 'dst', reader: 'read_input', suffix: '' };
export const VEC4_VIEW: InputView = { element: 'vec4u', dst: 'dst4', reader: 'read_input_vec4', suffix: '_4' };

/** Bit j set: input j lies in dst's buffer and is read through dst's binding. */
export function viaDstMask(viaDst: readonly boolean[]): number {
  return viaDst.reduce((mask, via, j) => (via ? mask | (1 << j) : mask), 0);
}

/**
 * Declarations and readers for `inputs` inputs, those in `mask` read through dst. Each view
 * declares the same bindings again with its own element type (an entry point uses one view).
 */
export function inputBindingsPrelude(inputs: number, mask: number, views: readonly InputView[]): string[] {
  const lines: string[] = [];
  for (const view of views) {
    const reads: string[] = [];
    let binding = 2;
    for (let j = 0; j < inputs; j++) {
      if (mask & (1 << j)) {
        reads.push(`${view.dst}[at]`);
      } else {
        lines.push(`@group(0) @binding(${binding++}) var<storage, read> in${j}${view.suffix}: array<${view.element}>;`);
        reads.push(`in${j}${view.suffix}[at]`);
      }
    }
    // j is a loop index in the kernels, so the reader selects; the last input is the default.
    const cases = reads.map((read, j) => `    ${j === reads.length - 1 ? 'default' : `case ${j}u`}: { return ${read}; }`);
    lines.push(`fn ${view.reader}(j: u32, at: u32) -> ${view.element} {`, '  switch j {', ...cases, '  }', '}');
  }
  return lines;
}

/** The storage bindings of a dispatch in the generated order: dst, then each input with its own binding. */
export function inputStorage(bound: Bound): GPUBufferBinding[] {
  return [bound.dst.resource, ...bound.inputs.flatMap((input) => (input.resource ? [input.resource] : []))];
}

/**
 * Throws InvalidArgument when a call needs more storage buffers in one dispatch than the device
 * allows: dst plus every input not in dst's buffer. Only the n-ary reduce of 8 sources can
 * exceed WebGPU's default of 8; every other kernel binds at most 4.
 */
export function checkStorageBuffers(ctx: GpuContext, what: string, viaDst: readonly boolean[]): void {
  const needed = 1 + viaDst.filter((via) => !via).length;
  const limit = ctx.device.limits.maxStorageBuffersPerShaderStage;
  if (needed > limit) {
    throw invalidArgument(
      `${what}: dst and ${needed - 1} inputs in other buffers need ${needed} storage buffers in one dispatch, ` +
      `but this device's maxStorageBuffersPerShaderStage is ${limit}; request the device with a higher ` +
      `maxStorageBuffersPerShaderStage (requiredLimits), or pass fewer inputs per call`,
    );
  }
}
