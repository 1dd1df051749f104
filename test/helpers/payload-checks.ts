// What every memory kind (host, GPU) must do with a received payload whose size does not match the
// element count it is applied to: refuse it with a RemoteError naming the mismatch, and change nothing.
import * as assert from 'uvu/assert';
import { WebcclError } from '../../lib/errors.js';
import type { CallMemory, Region } from '../../lib/memory/memory.js';

const bytesOf = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

/** An empty and a short payload accumulated into 4 float32 elements of `region`, a long one written over 2: each refused. */
export async function assertWrongSizePayloadsRefused(memory: CallMemory, region: Region): Promise<void> {
  for (const [name, action] of [
    ['accumulate of an empty payload', () => memory.accumulate(region, 0, 4, new Uint8Array(0))],
    ['accumulate of a short payload', () => memory.accumulate(region, 0, 4, bytesOf([1, 1]))],
    ['write of a long payload', () => memory.write(region, 0, 2, bytesOf([1, 1, 1]))],
  ] as const) {
    try {
      await action();
      assert.unreachable(`${name} was accepted`);
    } catch (error) {
      assert.instance(error, WebcclError, name);
      assert.is((error as WebcclError).code, 'RemoteError', name);
      assert.match((error as WebcclError).message, /a peer sent \d+ bytes where \d+ float32 elements \(\d+ bytes\) were expected/, name);
    }
  }
}
