// Block int8's fold + quantize: the compressed ring's send side in one pass per block. acc = acc +
// dequantize(recv) (recv: the previous hop's payload, same block size), then acc quantized into
// quantize_packed / quantize_scales: bit for bit block-decode.wgsl's decode_accumulate followed
// by `quantize` on acc (lib/gpu/int8-fold.ts). Joined after shaders/int8.wgsl, whose quantize
// helpers, decode_value and block_absmax it uses. The prelude binds acc at binding 1 read-write (quantize_src, read by
// src_quad, written by store_quad) and declares FoldQuantizeParams; recv's streams follow.
// The decoded value is xor-ed with fold_params.opaque_zero (0 at run time, unknown to the
// compiler) so that no compiler contracts the scale multiply and the add into an FMA, as
// decode_accumulate's sign_flip does. Each thread re-reads for quantizing only quads it folded
// itself (the same striding in both passes), so no barrier is needed between them for memory.

@group(0) @binding(0) var<uniform> fold_params: FoldQuantizeParams;
@group(0) @binding(4) var<storage, read> fold_recv_packed: array<u32>;
@group(0) @binding(5) var<storage, read> fold_recv_scales: array<u32>;

// Folds quad w of block `block` (acc elements from `start`, `length` of them) and returns the
// new quad's absmax bits (lanes past the block's end neither written nor counted).
fn fold_quad(block: u32, start: u32, length: u32, w: u32) -> u32 {
  let p = fold_params;
  let word = fold_recv_packed[p.recv_packed_offset + block * p.block_size / 4u + w];
  let recv_scale = fold_recv_scales[p.recv_scales_offset + block];
  var decoded: vec4u;
  for (var e = 0u; e < 4u; e++) { decoded[e] = decode_value(word, e, recv_scale) ^ p.opaque_zero; }
  // acc's NaN before recv's, by the NaN rule (first_nan_f32x4, common.wgsl).
  let old = src_quad(start + 4u * w);
  let sum = first_nan_f32x4(old, decoded, bitcast<vec4u>(bitcast<vec4f>(old) + bitcast<vec4f>(decoded)));
  let lanes = min(4u, length - 4u * w);
  store_quad(start + 4u * w, sum, lanes);
  var absmax = 0u;
  for (var lane = 0u; lane < lanes; lane++) { absmax = max(absmax, sum[lane] & ~F32_SIGN); }
  return absmax;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fold_quantize(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = fold_params;
  let block = workgroup_linear_index(wg, groups);
  if (block >= block_count(p.count, p.block_size)) { return; }
  let start = p.acc_offset + block * p.block_size;
  let length = block_length(p.count, p.block_size, block);
  var absmax = 0u;
  for (var w = local; w * 4u < length; w += WORKGROUP_SIZE) { absmax = max(absmax, fold_quad(block, start, length, w)); }
  atomicMax(&block_absmax, absmax);
  workgroupBarrier();
  let absmax_bits = atomicLoad(&block_absmax);
  let scale = scale_bits(absmax_bits);
  if (local == 0u) { quantize_scales[p.scales_offset + block] = scale; }
  let first_word = p.packed_offset + block * p.block_size / 4u;
  let quantizer = block_quantizer(absmax_bits, scale);
  for (var w = local; w * 4u < length; w += WORKGROUP_SIZE) {
    quantize_packed[first_word + w] = quantize_word(start, length, w, quantizer);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fold_quantize_per_thread(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = fold_params;
  let block = linear_index(wg, groups, local);
  if (block >= block_count(p.count, p.block_size)) { return; }
  let start = p.acc_offset + block * p.block_size;
  let length = block_length(p.count, p.block_size, block);
  var absmax_bits = 0u;
  for (var w = 0u; w * 4u < length; w++) { absmax_bits = max(absmax_bits, fold_quad(block, start, length, w)); }
  let scale = scale_bits(absmax_bits);
  quantize_scales[p.scales_offset + block] = scale;
  let first_word = p.packed_offset + block * p.block_size / 4u;
  let quantizer = block_quantizer(absmax_bits, scale);
  for (var w = 0u; w * 4u < length; w++) {
    quantize_packed[first_word + w] = quantize_word(start, length, w, quantizer);
  }
}
