// How algorithms cut a buffer: into per-rank segments and segments into chunks.

/** A contiguous run of elements: [offset, offset + length). */
export interface Span {
  readonly offset: number;
  readonly length: number;
}

/**
 * Splits `count` elements into `parts` segments as evenly as alignment allows: every
 * segment but the last few starts on a multiple of `align`; trailing segments may be empty.
 */
export function evenSegments(count: number, parts: number, align: number): Span[] {
  const per = Math.ceil(count / parts / align) * align;
  // A plain loop: Array.from with a mapping function showed as 4% of a small ring allreduce.
  const segments: Span[] = [];
  for (let i = 0; i < parts; i++) {
    const offset = Math.min(count, i * per);
    segments.push({ offset, length: Math.min(count, offset + per) - offset });
  }
  return segments;
}

/** Segment i is the i-th block of `blockLength` elements (allGather, reduceScatter, allToAll). */
export function blockSegments(blockLength: number, parts: number): Span[] {
  return Array.from({ length: parts }, (_, i) => ({ offset: i * blockLength, length: blockLength }));
}

/** Number of chunks of at most `chunk` elements needed to cover `length` elements. */
export function chunkCount(length: number, chunk: number): number {
  return Math.ceil(length / chunk);
}

/** Chunk `index` of a segment; empty when the segment is shorter than that. */
export function chunkOf(segment: Span, index: number, chunk: number): Span {
  const start = Math.min(segment.length, index * chunk);
  const end = Math.min(segment.length, start + chunk);
  return { offset: segment.offset + start, length: end - start };
}

/** Ranks are arranged on a ring; this is the rank `distance` steps along it (either way). */
export function ringPeer(rank: number, distance: number, size: number): number {
  return (((rank + distance) % size) + size) % size;
}

/**
 * Elements per chunk when pipelining segments of up to `longest` elements: the agreed chunk
 * size, made smaller when that would leave fewer than `depth` chunks to overlap, but never
 * below a quarter of it (per-message costs would then outweigh the overlap). A function of
 * agreed values and the call's count only, so every rank cuts alike.
 */
export function pipelinedChunkElements(longest: number, chunkElements: number, depth: number, align: number): number {
  const floor = Math.max(align, Math.floor(chunkElements / 4 / align) * align);
  const spread = Math.ceil(longest / Math.max(1, depth) / align) * align;
  return Math.min(chunkElements, Math.max(floor, spread));
}
