// How the demo server hands MNIST to the browser (GET /mnist.bin): the worker cannot read the
// `mnist` package's files, and its JSON is ~40 MB of decimals. Pixels travel as bytes (0..255;
// the package's values are multiples of 1/255 to within rounding), so 2,500 digits are ~2 MB.
// Layout: uint32 train count, uint32 test count, then test labels, train labels (one byte each),
// then test pixels, train pixels (784 bytes a digit). Platform-neutral.
import { PIXELS, type Dataset } from '../examples/mnist/order.js';

export interface MnistSplit {
  readonly train: Dataset;
  readonly test: Dataset;
}

export function encodeMnist({ train, test }: MnistSplit): Uint8Array {
  const sets = [test, train];
  const total = test.count + train.count;
  const out = new Uint8Array(8 + total + total * PIXELS);
  new DataView(out.buffer).setUint32(0, train.count, true);
  new DataView(out.buffer).setUint32(4, test.count, true);
  let at = 8;
  for (const set of sets) { out.set(set.labels, at); at += set.count; }
  for (const set of sets) for (const v of set.images) out[at++] = Math.round(v * 255);
  return out;
}

export function decodeMnist(bytes: Uint8Array): MnistSplit {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const trainCount = view.getUint32(0, true);
  const testCount = view.getUint32(4, true);
  const total = trainCount + testCount;
  if (bytes.byteLength !== 8 + total * (1 + PIXELS)) throw new Error(`mnist.bin: ${bytes.byteLength} bytes do not hold ${trainCount} + ${testCount} digits`);
  const set = (labelsAt: number, pixelsAt: number, count: number): Dataset => ({
    count,
    labels: Int32Array.from(bytes.subarray(labelsAt, labelsAt + count)),
    images: Float32Array.from(bytes.subarray(pixelsAt, pixelsAt + count * PIXELS), (v) => v / 255),
  });
  const pixels = 8 + total;
  return { test: set(8, pixels, testCount), train: set(8 + testCount, pixels + testCount * PIXELS, trainCount) };
}
