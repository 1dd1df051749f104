// The seeded orders every rank repeats identically without talking: platform-neutral, so that
// the browser demo's worker (demo/train-worker.ts) shuffles exactly as examples/mnist/train.ts does.

export interface Dataset {
  /** count x 784 pixels in [0, 1]. */
  readonly images: Float32Array;
  /** count labels 0..9. */
  readonly labels: Int32Array;
  readonly count: number;
}

export const PIXELS = 784;

/** A small seeded generator (xorshift32) for shuffles every rank repeats identically. */
export function generator(seed: number): () => number {
  let state = (seed * 2654435761) >>> 0 || 1;
  return () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state / 2 ** 32;
  };
}

export function shuffled(count: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const next = generator(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
