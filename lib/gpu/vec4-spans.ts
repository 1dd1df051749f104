// Splitting a run of 32-bit words into a vec4 body and scalar edges. Kernels that load and
// store vec4<u32> move four words per memory operation, which lavapipe (whose cost is per
// invocation and per access) runs several times faster and real GPUs prefer too. A vec4 view
// of a binding can only reach words whose index within the binding is a multiple of 4, and not
// the last 1-3 words of a binding whose size is not a multiple of 16; so the words before the
// first common vec4 boundary and after the last whole vec4 go to the kernel's scalar form.
//
// Every stream of the run must move in step (word w of the run is word offset_s + w of stream
// s) and share offset_s mod 4; otherwise no word index is a vec4 boundary in all streams at
// once and the whole run is scalar.

export interface WordSpan {
  /** First word of the span, from the start of the run. */
  readonly start: number;
  readonly words: number;
  /** Whether the span is whole vec4s, starting on a vec4 boundary of every stream. */
  readonly vec4: boolean;
}

/**
 * `wordOffsets`: where the run's first word lies within each stream's binding. `scalarLast`:
 * the last word needs the scalar form (e.g. it is shared with data the call must not touch).
 */
export function vec4Spans(words: number, wordOffsets: readonly number[], scalarLast = false): WordSpan[] {
  const residue = (wordOffsets[0] ?? 0) % 4;
  if (wordOffsets.some((offset) => offset % 4 !== residue)) return words > 0 ? [{ start: 0, words, vec4: false }] : [];
  const head = Math.min(words, (4 - residue) % 4);
  const body = Math.max(0, Math.floor((words - (scalarLast ? 1 : 0) - head) / 4) * 4);
  const spans: WordSpan[] = [
    { start: 0, words: head, vec4: false },
    { start: head, words: body, vec4: true },
    { start: head + body, words: words - head - body, vec4: false },
  ];
  return spans.filter((span) => span.words > 0);
}
