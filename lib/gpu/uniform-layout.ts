// A kernel's uniform block, declared once, here in TypeScript: the WGSL struct is generated from
// the declaration and prepended to the family's source, and the words of each dispatch are
// counted against it, so the shader and the code that fills its parameters cannot drift apart.
// Word 0 is `units`, the unit count GpuContext.dispatch writes; every field is a u32 (an f32
// parameter travels as its bits).
import { internalError } from '../errors.js';

export class UniformLayout {
  /** The WGSL declaration, `struct <name> { units: u32, <field>: u32, ... }`. */
  readonly wgsl: string;

  constructor(readonly struct: string, readonly fields: readonly string[]) {
    this.wgsl = `struct ${struct} { ${['units', ...fields].map((field) => `${field}: u32`).join(', ')} }`;
  }

  /** The parameters after `units`, one value per field in declared order. */
  words(values: readonly number[]): Uint32Array {
    if (values.length !== this.fields.length) {
      throw internalError(`${this.struct}: ${values.length} values for ${this.fields.length} fields (${this.fields.join(', ')})`);
    }
    return new Uint32Array(values);
  }
}
