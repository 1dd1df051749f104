// Shared by the codecs whose decode is elementwise from packed words and one scale per block
// (int8.wgsl dequantize, onebit.wgsl decompress); lib/gpu/block-decode.ts prepends it. The
// family's source defines what differs:
//   const PACKED_PER_WORD: u32                                      values packed in one u32 word
//   fn decode_value(word: u32, lane: u32, scale_bits: u32) -> u32   value `lane` of `word`, as f32 bits
// UNITS_PER_THREAD elements per thread.

// DecodeParams, the uniform block: declared in lib/gpu/block-decode.ts (DECODE_LAYOUT), which prepends it.
@group(0) @binding(0) var<uniform> decode_params: DecodeParams;
@group(0) @binding(1) var<storage, read> decode_packed: array<u32>;
@group(0) @binding(2) var<storage, read> decode_scales: array<u32>;
@group(0) @binding(3) var<storage, read_write> decode_dst: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn decode(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = decode_params;
  let first = first_unit(wg, groups, local);
  for (var i = first; i < min(first + UNITS_PER_THREAD, p.units); i++) {
    let word = decode_packed[p.packed_offset + i / PACKED_PER_WORD];
    let scale_bits = decode_scales[p.scales_offset + i / p.block_size];
    decode_dst[p.dst_offset + i] = decode_value(word, i % PACKED_PER_WORD, scale_bits);
  }
}
