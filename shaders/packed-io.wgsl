// Shared by the families that convert between 32-bit values and packed u32 words (bitpack.wgsl,
// cast.wgsl); lib/gpu/packed-transform.ts binds and fills it. Work is counted in packed words.
// dst is always bound writable; src, the one input, is bound on its own or, when it lies in
// dst's buffer (WebGPU forbids binding one buffer writable and read-only in one dispatch), read
// through dst: the prelude declares its binding if it has one, and read_input(0u, at), which
// knows which (lib/gpu/input-bindings.ts).

// Params, the uniform block: declared in lib/gpu/packed-transform.ts (PACKED_IO_LAYOUT), which prepends it.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;

fn src_word(i: u32) -> u32 {
  return read_input(0u, params.src_offset + i);
}
