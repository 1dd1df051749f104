// Shared by the families that convert between 32-bit values and packed u32 words (bitpack.wgsl,
// cast.wgsl); lib/gpu/packed-transform.ts binds and fills it. Work is counted in packed words.
// dst is always bound writable; src is bound on its own, or, when it lies in dst's buffer
// (WebGPU forbids binding one buffer writable and read-only in one dispatch), read through dst
// (see lib/gpu/bind-with-dst.ts).

struct Params {
  units: u32,       // packed words (set by GpuContext.dispatch)
  count: u32,       // values
  dst_offset: u32,  // words, from the start of the dst binding
  src_offset: u32,  // words, from the start of the binding src is read through
  src_via_dst: u32, // 1: src lies in dst's buffer and is read through the dst binding
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;

fn src_word(i: u32) -> u32 {
  if (params.src_via_dst != 0u) { return dst[params.src_offset + i]; }
  return src[params.src_offset + i];
}
