// The codecs a communicator can agree on: one row per codec (one registry per kind of plug-in).
// Adding a codec is its file (lib/memory/codec.ts's interface, with its kernels beside the
// memories that run it) plus one row here.
import { NO_CODEC, type Codec } from '../memory/codec.js';

export const CODECS: readonly Codec[] = [NO_CODEC];

export const DEFAULT_CODEC = NO_CODEC.name;

/** The registered codec of that name, or undefined. */
export function codecNamed(name: string): Codec | undefined {
  return CODECS.find((codec) => codec.name === name);
}

/** The names every rank may agree on, for messages. */
export function codecNames(): string {
  return CODECS.map((codec) => codec.name).join(', ');
}
