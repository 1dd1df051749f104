// The one shape of a GPU kernel call. A family exports prepare* functions: each checks a call
// (a bad one throws InvalidArgument before anything is recorded), plans its pieces and returns
// a Recorder, which records the call's dispatches into any command encoder and cannot fail on
// arguments. Work meant to be one submission records several recorders into one encoder
// (ctx.run((e) => { quantize(e); reduce(e); })). The encode*/gpu* functions of the public API
// are the two forms kernelForms makes from a prepare function, not code written per kernel.
import type { GpuContext } from './context.js';

/** Records a prepared call's dispatches into an encoder. */
export type Recorder = (encoder: GPUCommandEncoder) => void;

/** Checks a call's arguments and returns what records it. */
export type Prepare<A extends unknown[]> = (ctx: GpuContext, ...args: A) => Recorder;

export interface KernelForms<A extends unknown[]> {
  /** Checks the call (throws, recording nothing, on a bad one), then records it into the caller's encoder. */
  readonly encode: (ctx: GpuContext, encoder: GPUCommandEncoder, ...args: A) => void;
  /** Checks the call, submits it on its own and resolves when the GPU is done; a bad call rejects. */
  readonly run: (ctx: GpuContext, ...args: A) => Promise<void>;
}

export function kernelForms<A extends unknown[]>(prepare: Prepare<A>): KernelForms<A> {
  return {
    encode: (ctx, encoder, ...args) => prepare(ctx, ...args)(encoder),
    // Prepared before the submission opens its error scopes: a bad call leaves none pushed.
    run: async (ctx, ...args) => ctx.run(prepare(ctx, ...args)),
  };
}
