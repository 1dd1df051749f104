// The codecs an allreduce can use: one row per codec (one registry per kind of plug-in).
// Adding a codec is its file under lib/memory/codecs (the Codec of lib/memory/codec.ts: name,
// wire code, encodedBytes, lossless, error feedback, payload format), its kernels beside the
// memories that run its format, and one row here.
import { invalidArgument } from '../errors.js';
import { NO_CODEC, type Codec } from '../memory/codec.js';
import { BF16_CODEC } from '../memory/codecs/bf16.js';
import { FP16_CODEC } from '../memory/codecs/fp16.js';
import { INT8_CODEC } from '../memory/codecs/int8.js';
import { ONEBIT_CODEC } from '../memory/codecs/onebit.js';
import { SWITCHML_CODEC } from '../memory/codecs/switchml.js';

export const CODECS: readonly Codec[] = [NO_CODEC, BF16_CODEC, FP16_CODEC, INT8_CODEC, ONEBIT_CODEC, SWITCHML_CODEC];

export const DEFAULT_CODEC = NO_CODEC.name;

/** The registered codec of that name, or undefined. */
export function codecNamed(name: string): Codec | undefined {
  return CODECS.find((codec) => codec.name === name);
}

/** The registered codec with that wire code, or undefined. */
export function codecWithCode(code: number): Codec | undefined {
  return CODECS.find((codec) => codec.code === code);
}

/** The names every rank may agree on, for messages. */
export function codecNames(): string {
  return CODECS.map((codec) => codec.name).join(', ');
}

/** A codec choice (an option, WEBCCL_COMPRESSION) must name a row; InvalidArgument names them all. */
export function checkCodecChoice(what: string, choice: unknown): asserts choice is string {
  if (typeof choice !== 'string' || !codecNamed(choice)) {
    throw invalidArgument(`${what}: compression ${JSON.stringify(choice)} is not one of ${codecNames()}`);
  }
}
