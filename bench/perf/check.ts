// -c 1 and the compression columns: a placement's output against the expected result, a slice at
// a time. Whole-buffer copies made a check of a large call cost more memory than the call: the
// output read back, the expected output and every rank's input behind it (2.25 GiB per rank for
// an 8-rank 256 MiB allreduce, so eight ranks did not fit in 23 GiB).
import { countWrong, maxRelativeError } from './data.js';
import { expectedSlice, type CallShape } from './expected.js';
import type { Placement } from './placement.js';

/** Elements compared at a time: 4 MiB of float32 per rank input, small beside any large call. */
export const CHECK_SLICE_ELEMENTS = 1 << 20;

export interface CheckResult {
  /** Elements beyond the dtype's tolerance (data.ts countWrong). */
  readonly wrong: number;
  /** The largest relative error (data.ts maxRelativeError); with `relativeError` only, else 0. */
  readonly maxRelError: number;
}

/** Compares `placement`'s output after a call with what `rank` must hold; nothing to compare where the collective defines no output. */
export async function checkOutput(shape: CallShape, rank: number, placement: Placement, relativeError: boolean, sliceElements = CHECK_SLICE_ELEMENTS): Promise<CheckResult> {
  let wrong = 0;
  let maxRelError = 0;
  const total = shape.layout.recvCount;
  for (let from = 0; from < total; from += sliceElements) {
    const count = Math.min(sliceElements, total - from);
    const expected = expectedSlice(shape, rank, from, count);
    if (expected === undefined) break;
    const got = await placement.output(from, count);
    wrong += countWrong(shape.dtype, got, expected, shape.ranks);
    if (relativeError) maxRelError = Math.max(maxRelError, maxRelativeError(shape.dtype, got, expected));
  }
  return { wrong, maxRelError };
}
