// 1-bit sign compression with a per-block mean-|v| scale and fused error feedback, and its
// decompression. Format, summation order and bounds: lib/cpu/onebit.ts (the CPU twin, bit for
// bit). Compress comes in two layouts that add in the same order (lib/gpu/onebit.ts picks one):
// `compress` runs with WORKGROUP_SIZE = SUM_LANES (64), the lanes being the workgroup's
// threads; `compress_per_thread` replays the 64 lanes in one thread.

// ---- compress: one workgroup per block (block sizes are multiples of 32: no shared words). ----

// CompressParams, the uniform block: declared in lib/gpu/onebit.ts (COMPRESS_LAYOUT), which prepends it.
@group(0) @binding(0) var<uniform> compress_params: CompressParams;
@group(0) @binding(1) var<storage, read> compress_x: array<u32>;
@group(0) @binding(2) var<storage, read_write> compress_residual: array<u32>;
@group(0) @binding(3) var<storage, read_write> compress_signs: array<u32>;
@group(0) @binding(4) var<storage, read_write> compress_scales: array<u32>;

var<workgroup> lane_sums: array<f32, WORKGROUP_SIZE>;
var<workgroup> block_poisoned: atomic<u32>;
var<workgroup> sign_nibbles: array<u32, WORKGROUP_SIZE>;

// v = x + residual, with subnormals flushed on the way in and out.
fn carried(x_bits: u32, residual_bits: u32) -> f32 {
  let v = bitcast<f32>(flush_bits(x_bits)) + bitcast<f32>(flush_bits(residual_bits));
  return bitcast<f32>(flush_bits(bitcast<u32>(v)));
}

// Element i of the piece (the bindings' offsets are added here): writes
// its new residual v - ±scale (v = x + residual) and says whether v is negative (its sign bit).
// Every sign-packing loop of both compress layouts calls it, so the arithmetic exists once.
fn residual_sign(i: u32, scale: f32) -> bool {
  let p = compress_params;
  let v = carried(compress_x[p.x_offset + i], compress_residual[p.residual_offset + i]);
  let negative = v < 0.0;
  compress_residual[p.residual_offset + i] = flush_bits(bitcast<u32>(v - select(scale, -scale, negative)));
  return negative;
}

// Sign word w of a block (elements start + 32w .. +32, clipped to the block's length).
fn pack_sign_word(start: u32, length: u32, w: u32, scale: f32) -> u32 {
  let first = start + w * 32u;
  var word = 0u;
  // All 32 bits but in a ragged block's last word: a loop of constant length, which lavapipe
  // runs without a bound check per element.
  let bits = min(32u, length - w * 32u);
  if (bits == 32u) {
    for (var bit = 0u; bit < 32u; bit++) { word |= select(0u, 1u << bit, residual_sign(first + bit, scale)); }
    return word;
  }
  for (var bit = 0u; bit < bits; bit++) { word |= select(0u, 1u << bit, residual_sign(first + bit, scale)); }
  return word;
}

// Elements i .. i+3 (those below `end`): their sign bits (bit c for element i + c).
fn residual_quad_signs(i: u32, end: u32, scale: f32) -> u32 {
  var nibble = 0u;
  for (var c = 0u; c < 4u; c++) {
    if (i + c < end) { nibble |= select(0u, 1u << c, residual_sign(i + c, scale)); }
  }
  return nibble;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn compress(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = compress_params;
  let blocks = block_count(p.count, p.block_size);
  let block = workgroup_linear_index(wg, groups);
  if (block >= blocks) { return; }
  let start = block * p.block_size;
  let length = block_length(p.count, p.block_size, block);

  // Lane `local` adds |v_j| for j = local, local + 64, ... in order, then the halving tree.
  var lane_sum = 0.0;
  var poisoned = false;
  for (var j = local; j < length; j += WORKGROUP_SIZE) {
    let x_bits = compress_x[p.x_offset + start + j];
    let residual_bits = compress_residual[p.residual_offset + start + j];
    poisoned = poisoned || is_nonfinite_bits(x_bits) || is_nonfinite_bits(residual_bits);
    lane_sum = lane_sum + abs(carried(x_bits, residual_bits));
  }
  lane_sums[local] = lane_sum;
  if (poisoned) { atomicOr(&block_poisoned, 1u); }
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
    if (local < stride) { lane_sums[local] = lane_sums[local] + lane_sums[local + stride]; }
    workgroupBarrier();
  }

  let first_word = p.signs_offset + start / 32u;
  // Loaded as a workgroup-uniform value: the branch and the loop below hold barriers.
  if (workgroupUniformLoad(&block_poisoned) != 0u) {
    // NaN or Inf in the block: NaN scale, no signs, residual reset to 0 (lib/cpu/onebit.ts).
    if (local == 0u) { compress_scales[p.scales_offset + block] = F32_QUIET_NAN; }
    for (var w = local; w * 32u < length; w += WORKGROUP_SIZE) { compress_signs[first_word + w] = 0u; }
    for (var j = local; j < length; j += WORKGROUP_SIZE) { compress_residual[p.residual_offset + start + j] = 0u; }
    return;
  }
  let inverse_length = select(p.inverse_length_bits, p.inverse_last_length_bits, block == blocks - 1u);
  let scale_bits = flush_bits(bitcast<u32>(lane_sums[0] * bitcast<f32>(inverse_length)));
  let scale = bitcast<f32>(scale_bits);
  if (local == 0u) { compress_scales[p.scales_offset + block] = scale_bits; }

  // Signs and residuals with every thread busy: the block in chunks of 4 * WORKGROUP_SIZE
  // elements, thread `local` taking the 4 elements at 4 * local (neighbouring threads read and
  // write neighbouring addresses; the reads mostly hit the cache phase 1 filled). Its 4 sign bits
  // go to sign_nibbles; after a barrier, thread w < WORKGROUP_SIZE / 8 joins nibbles 8w .. 8w+7
  // into the chunk's sign word w. No atomics; one barrier per chunk and one between chunks.
  for (var chunk = 0u; chunk < length; chunk += 4u * WORKGROUP_SIZE) {
    sign_nibbles[local] = residual_quad_signs(start + chunk + 4u * local, start + length, scale);
    workgroupBarrier();
    if (local < WORKGROUP_SIZE / 8u && chunk + 32u * local < length) {
      var word = 0u;
      for (var n = 0u; n < 8u; n++) { word |= sign_nibbles[8u * local + n] << (4u * n); }
      compress_signs[first_word + chunk / 32u + local] = word;
    }
    // The next chunk, if any (a uniform condition), overwrites sign_nibbles.
    if (chunk + 4u * WORKGROUP_SIZE < length) { workgroupBarrier(); }
  }
}

// ---- compress_per_thread: one thread per block, the same arithmetic in the same order. ----
// SUM_LANES (prelude, = ONEBIT_SUM_LANES) running sums in a private array stand for the 64
// threads of `compress`: lane j % SUM_LANES adds |v_j| in increasing j, then the same halving
// tree, so every f32 addition, and therefore the scale, is bit-identical. No barriers.

@compute @workgroup_size(WORKGROUP_SIZE)
fn compress_per_thread(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = compress_params;
  let blocks = block_count(p.count, p.block_size);
  let block = linear_index(wg, groups, local);
  if (block >= blocks) { return; }
  let start = block * p.block_size;
  let length = block_length(p.count, p.block_size, block);

  var lanes: array<f32, SUM_LANES>; // zero-initialized
  var poisoned = false;
  for (var j = 0u; j < length; j++) {
    let x_bits = compress_x[p.x_offset + start + j];
    let residual_bits = compress_residual[p.residual_offset + start + j];
    poisoned = poisoned || is_nonfinite_bits(x_bits) || is_nonfinite_bits(residual_bits);
    let lane = j % SUM_LANES;
    lanes[lane] = lanes[lane] + abs(carried(x_bits, residual_bits));
  }
  for (var stride = SUM_LANES / 2u; stride > 0u; stride >>= 1u) {
    for (var l = 0u; l < stride; l++) { lanes[l] = lanes[l] + lanes[l + stride]; }
  }

  let first_word = p.signs_offset + start / 32u;
  if (poisoned) {
    compress_scales[p.scales_offset + block] = F32_QUIET_NAN;
    for (var w = 0u; w * 32u < length; w++) { compress_signs[first_word + w] = 0u; }
    for (var j = 0u; j < length; j++) { compress_residual[p.residual_offset + start + j] = 0u; }
    return;
  }
  let inverse_length = select(p.inverse_length_bits, p.inverse_last_length_bits, block == blocks - 1u);
  let scale_bits = flush_bits(bitcast<u32>(lanes[0] * bitcast<f32>(inverse_length)));
  let scale = bitcast<f32>(scale_bits);
  compress_scales[p.scales_offset + block] = scale_bits;
  for (var w = 0u; w * 32u < length; w++) {
    compress_signs[first_word + w] = pack_sign_word(start, length, w, scale);
  }
}

// ---- decompress: shaders/block-decode.wgsl (prepended) with y = ±scale (the scale's sign bit flipped: exact). ----

const PACKED_PER_WORD = 32u;

fn decode_value(word: u32, lane: u32, scale_bits: u32) -> u32 {
  return scale_bits ^ (((word >> lane) & 1u) << 31u);
}
