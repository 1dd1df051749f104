// A kernel's uniform block, declared once, here in TypeScript: the WGSL struct is generated from
// the declaration and prepended to the family's source, and the words of each dispatch are
// counted against it, so the shader and the code that fills its parameters cannot drift apart.
// Word 0 is `units`, the unit count GpuContext.dispatch writes; every field is a u32 (an f32
// parameter travels as its bits). A block may end with one array of vec4<u32> (e.g. per-input
// offsets); WGSL aligns it to 16 bytes, and `words` pads the fields to match.
import { internalError } from '../errors.js';

/** A trailing `array<vec4u, vec4s>` field. */
export interface UniformTail {
  readonly name: string;
  readonly vec4s: number;
}

export class UniformLayout {
  /** The WGSL declaration, `struct <name> { units: u32, <field>: u32, ..., [<tail>: array<vec4u, N>] }`. */
  readonly wgsl: string;
  /** Where the tail starts among the words after `units` (the fields, padded to 16 bytes). */
  private readonly tailAt: number;

  constructor(readonly struct: string, readonly fields: readonly string[], readonly tail?: UniformTail) {
    const members = ['units', ...fields].map((field) => `${field}: u32`);
    if (tail) members.push(`${tail.name}: array<vec4u, ${tail.vec4s}>`);
    this.wgsl = `struct ${struct} { ${members.join(', ')} }`;
    this.tailAt = Math.ceil((1 + fields.length) / 4) * 4 - 1;
  }

  /** The parameters after `units`: one value per field in declared order, then the tail's words (zero-filled). */
  words(values: readonly number[], tailWords: readonly number[] = []): Uint32Array {
    if (values.length !== this.fields.length) {
      throw internalError(`${this.struct}: ${values.length} values for ${this.fields.length} fields (${this.fields.join(', ')})`);
    }
    if (!this.tail) {
      if (tailWords.length > 0) throw internalError(`${this.struct}: has no tail for ${tailWords.length} words`);
      return new Uint32Array(values);
    }
    if (tailWords.length > this.tail.vec4s * 4) throw internalError(`${this.struct}: ${tailWords.length} words for ${this.tail.name} of ${this.tail.vec4s} vec4s`);
    const words = new Uint32Array(this.tailAt + this.tail.vec4s * 4);
    words.set(values);
    words.set(tailWords, this.tailAt);
    return words;
  }
}
