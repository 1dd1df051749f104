// Channel ids: the header's `comm` field. A communicator uses two, one for its collectives
// and one for point-to-point calls (which only two ranks count, so they need their own
// sequence space). The world communicator takes 0 and 1; a split child's ids are derived
// from its parent's channel, the split call's sequence number and the color, which every
// member knows, so members agree without another exchange and siblings differ.

export interface Channels {
  readonly collective: number;
  readonly p2p: number;
}

export const WORLD_CHANNELS: Channels = { collective: 0, p2p: 1 };

/** FNV-1a over 32-bit words: a fixed, platform-independent hash. */
function hashWords(words: readonly number[]): number {
  let hash = 0x811c9dc5;
  for (const word of words) {
    for (let shift = 0; shift < 32; shift += 8) {
      hash ^= (word >>> shift) & 0xff;
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
  }
  return hash;
}

/** Derived ids avoid 0 and 1 (the world's). */
function derived(words: readonly number[]): number {
  const hash = hashWords(words);
  return hash < 2 ? hash + 2 : hash;
}

export function splitChannels(parent: Channels, splitSeq: number, color: number): Channels {
  return {
    collective: derived([parent.collective, splitSeq, color, 0]),
    p2p: derived([parent.collective, splitSeq, color, 1]),
  };
}
