// SwitchML codec: block exponents, f32 -> i32 quantization with an agreed per-block exponent,
// and i32 sum -> f32 dequantization. Format, overflow proof and precision bound: lib/cpu/switchml.ts
// (the CPU twin, bit for bit). Prelude constants: MIN_EXPONENT, MAX_EXPONENT, NONFINITE_EXPONENT.

// ---- block_exponents: exponents[b] = max e(x) over block b; one workgroup per block, or one thread. ----

// ExponentParams, QuantizeParams and DequantizeParams, the uniform blocks: declared in
// lib/gpu/switchml.ts (*_LAYOUT), which prepends them.
@group(0) @binding(0) var<uniform> exponent_params: ExponentParams;
@group(0) @binding(1) var<storage, read> exponent_src: array<u32>;
@group(0) @binding(2) var<storage, read_write> exponent_dst: array<i32>;

var<workgroup> block_exponent: atomic<i32>;

fn element_exponent(bits: u32) -> i32 {
  return select(i32(effective_exponent(bits)) - 126, NONFINITE_EXPONENT, is_nonfinite_bits(bits));
}

// element_exponent is nondecreasing in the exponent field (0 -> MIN_EXPONENT, 255 ->
// NONFINITE_EXPONENT), so a block's exponent is that of its largest exponent field: the loops
// keep max(bits & F32_EXPONENT), one AND and one max per element, and convert once.
const_assert MIN_EXPONENT == 1 - 126 && NONFINITE_EXPONENT == 255 - 126;

// The exponent fields of the quad at word `at` (the prelude's exponent_quad reads it; lanes at
// or past `end` count as 0, MIN_EXPONENT's field).
fn quad_fields(at: u32, end: u32) -> vec4u {
  let live = vec4u(at) + vec4u(0u, 1u, 2u, 3u) < vec4u(end);
  return select(vec4u(0u), exponent_quad(at) & vec4u(F32_EXPONENT), live);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn block_exponents(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = exponent_params;
  let block = workgroup_linear_index(wg, groups);
  if (block >= block_count(p.count, p.block_size)) { return; }
  if (local == 0u) { atomicStore(&block_exponent, MIN_EXPONENT); }
  workgroupBarrier();
  let start = p.src_offset + block * p.block_size;
  let length = block_length(p.count, p.block_size, block);
  var field = 0u;
  for (var j = local; j < length; j += WORKGROUP_SIZE) {
    field = max(field, exponent_src[start + j] & F32_EXPONENT);
  }
  // max is exact and order-free: any interleaving of the atomics gives the CPU's answer.
  atomicMax(&block_exponent, element_exponent(field));
  workgroupBarrier();
  if (local == 0u) { exponent_dst[p.exponents_offset + block] = atomicLoad(&block_exponent); }
}

// One thread per block (software adapters, lib/gpu/switchml.ts): no barrier, no atomic, the
// block read in quads.
@compute @workgroup_size(WORKGROUP_SIZE)
fn block_exponents_per_thread(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = exponent_params;
  let block = linear_index(wg, groups, local);
  if (block >= block_count(p.count, p.block_size)) { return; }
  let start = p.src_offset + block * p.block_size;
  let end = start + block_length(p.count, p.block_size, block);
  var fields = vec4u(0u);
  for (var at = start; at < end; at += 4u) { fields = max(fields, quad_fields(at, end)); }
  exponent_dst[p.exponents_offset + block] = element_exponent(max(max(fields.x, fields.y), max(fields.z, fields.w)));
}

// ---- quantize: UNITS_PER_THREAD elements (or quads) per thread; q = roundHalfEven(x * M * 2^-emax), integers only. ----

@group(0) @binding(0) var<uniform> quantize_params: QuantizeParams;
@group(0) @binding(1) var<storage, read> quantize_src: array<u32>;
@group(0) @binding(2) var<storage, read> quantize_exponents: array<i32>;
@group(0) @binding(3) var<storage, read_write> quantize_dst: array<i32>;

// q = roundHalfEven(m * M / 2^(24 + shift)) for m < 2^24, M = budget < 2^31, 0 <= shift <= 31,
// in 32-bit integer arithmetic (WGSL has no u64), exact on every device: no float, no division.
// With m = m1 2^16 + m0 and M = b1 2^16 + b0 (m1 < 2^8, b1 < 2^15; each product < 2^32),
// P = m M = (m1 b1) 2^32 + middle 2^16 + m0 b0, where middle = m0 b1 + m1 b0 < 2^31 + 2^24.
// top = floor(P / 2^23) (< 2^32 as P < 2^55, so its sum cannot wrap) and rest = P mod 2^23
// hold all of P; dividing by 2^(24+shift)
// keeps floor(top / 2^(shift+1)) and leaves the remainder dropped 2^23 + rest, against half
// = 2^shift 2^23. Rounding up iff dropped > half, or dropped == half and (rest != 0 or kept is
// odd), is one comparison: dropped > half - extra (half >= 1, nothing wraps). Straight-line
// (selects): a per-element branch runs both sides under a mask on CPU adapters anyway.
// About half the operations of what it replaced (the full 64-bit product, then a rounding
// with shift 0 as a case apart), which lavapipe spent most of quantize's time on
// (docs/PERFORMANCE.md).
fn round_scaled_significand(m: u32, budget: u32, shift: u32) -> u32 {
  let m0 = m & 0xffffu;
  let m1 = m >> 16u;
  let b0 = budget & 0xffffu;
  let b1 = budget >> 16u;
  let low = m0 * b0;
  let middle = m0 * b1 + m1 * b0;
  let top = ((m1 * b1) << 9u) + ((middle + (low >> 16u)) >> 7u);
  let rest = ((middle << 16u) + low) & 0x7fffffu;
  let kept = (top >> 1u) >> shift;
  let half = 1u << shift;
  let dropped = top & ((half << 1u) - 1u); // shift 31: (half << 1) wraps to 0, the mask to all ones
  let extra = select(kept & 1u, 1u, rest != 0u);
  return kept + select(0u, 1u, dropped > half - extra);
}

// Straight-line too: the saturated, rounded and zero cases are all computed and one is kept.
fn quantize_element(bits: u32, agreed: i32, budget: u32) -> i32 {
  let m = significand(bits);
  // Clamping keeps the subtraction from wrapping on absurd exponents (any emax below
  // MIN_EXPONENT already saturates, as on the CPU).
  let shift = max(agreed, MIN_EXPONENT - 64) - (i32(effective_exponent(bits)) - 126);
  let rounded = round_scaled_significand(m, budget, u32(clamp(shift, 0, 31)));
  // Above the agreed exponent: saturate, keeping |q| <= M; more than 31 below it: 0.
  let magnitude = select(select(0u, rounded, shift <= 31), budget, shift < 0);
  let q = i32(select(magnitude, 0u, is_nonfinite_bits(bits) | (agreed > MAX_EXPONENT) | (m == 0u)));
  return select(q, -q, (bits & F32_SIGN) != 0u);
}

// Both elementwise kernels come in two forms: per element (`quantize`, `dequantize`), and per
// quad of 4 elements through vec4 views of src and dst (`*_vec4`), which lib/gpu/switchml.ts
// picks where both start on a vec4 boundary of their bindings, the piece holds whole quads and
// blocks hold whole quads (so a quad has one exponent, found once, not four times). A
// thread's units are thread_unit's k = 0 .. UNITS_PER_THREAD-1, `step` apart (1 or
// WORKGROUP_SIZE by layout), walked as a strided range as in reduce.wgsl.

// In the consecutive layout (software adapters) a thread's quads are neighbours, and unless they
// straddle a block boundary (a thread in every blockSize / 16 or fewer) one exponent read and one
// block index serve all of them: lavapipe gathers every per-lane load, and the index costs a
// dozen integer operations a quad. Blocks are runs of quads, so the first and last quad sharing
// a block means all do. In the coalesced layout (GPUs) a thread's quads lie WORKGROUP_SIZE apart
// and each finds its own block.
fn quads_share_block(first: u32, end: u32, magic: u32, shift: u32) -> bool {
  return !COALESCED_UNITS && first < end && divide_by_block(4u * first, magic, shift) == divide_by_block(4u * (end - 1u), magic, shift);
}
@group(0) @binding(1) var<storage, read> quantize_src4: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> quantize_dst4: array<vec4i>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = quantize_params;
  let first = thread_unit(wg, groups, local, 0u);
  let step = thread_unit(wg, groups, local, 1u) - first;
  let end = min(first + UNITS_PER_THREAD * step, p.units);
  for (var i = first; i < end; i += step) {
    let agreed = quantize_exponents[p.exponents_offset + divide_by_block(i, p.block_magic, p.block_shift)];
    quantize_dst[p.dst_offset + i] = quantize_element(quantize_src[p.src_offset + i], agreed, p.budget);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = quantize_params;
  let first = thread_unit(wg, groups, local, 0u);
  let step = thread_unit(wg, groups, local, 1u) - first;
  let end = min(first + UNITS_PER_THREAD * step, p.units);
  let one_block = quads_share_block(first, end, p.block_magic, p.block_shift);
  var agreed = 0;
  if (one_block) { agreed = quantize_exponents[p.exponents_offset + divide_by_block(4u * first, p.block_magic, p.block_shift)]; }
  for (var v = first; v < end; v += step) {
    if (!one_block) { agreed = quantize_exponents[p.exponents_offset + divide_by_block(4u * v, p.block_magic, p.block_shift)]; }
    let x = quantize_src4[p.src_offset / 4u + v];
    quantize_dst4[p.dst_offset / 4u + v] = vec4i(
      quantize_element(x.x, agreed, p.budget), quantize_element(x.y, agreed, p.budget),
      quantize_element(x.z, agreed, p.budget), quantize_element(x.w, agreed, p.budget));
  }
}

// ---- dequantize: UNITS_PER_THREAD elements (or quads) per thread; y = fl(fl(|S|) * fl(1/M)) * 2^emax with S's sign. ----

@group(0) @binding(0) var<uniform> dequantize_params: DequantizeParams;
@group(0) @binding(1) var<storage, read> dequantize_src: array<u32>;
@group(0) @binding(2) var<storage, read> dequantize_exponents: array<i32>;
@group(0) @binding(3) var<storage, read_write> dequantize_dst: array<u32>;

fn dequantize_element(sum_bits: u32, agreed: i32, factor: f32) -> u32 {
  let sign = sum_bits & F32_SIGN;
  let magnitude = select(sum_bits, 0u - sum_bits, sign != 0u); // |S| <= 2^31 as u32
  // fl(|S|): the high half times 2^16 is exact, so the addition rounds once, to nearest even
  // (a fused multiply-add would give the same). f32(u32) alone may round either way.
  let rounded = f32(magnitude >> 16u) * 65536.0 + f32(magnitude & 0xffffu);
  let scaled = bitcast<u32>(rounded * factor); // normal: in [2^-31, 2^31] (S = 0: +0)
  // Times 2^emax on the exponent field: exact, with flush to +0 below 2^-126 and Inf from 2^128.
  // Straight-line: every case is computed and one kept (wrapped values are never kept).
  let exponent = i32((scaled >> 23u) & 0xffu) + agreed;
  let normal = sign | (u32(exponent) << 23u) | (scaled & F32_MANTISSA);
  let y = select(select(normal, 0u, exponent <= 0), sign | F32_EXPONENT, exponent >= 255);
  return select(select(y, 0u, sum_bits == 0u), F32_QUIET_NAN, agreed > MAX_EXPONENT);
}

@group(0) @binding(1) var<storage, read> dequantize_src4: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> dequantize_dst4: array<vec4u>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn dequantize(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = dequantize_params;
  let first = thread_unit(wg, groups, local, 0u);
  let step = thread_unit(wg, groups, local, 1u) - first;
  let end = min(first + UNITS_PER_THREAD * step, p.units);
  for (var i = first; i < end; i += step) {
    let agreed = dequantize_exponents[p.exponents_offset + divide_by_block(i, p.block_magic, p.block_shift)];
    dequantize_dst[p.dst_offset + i] = dequantize_element(dequantize_src[p.src_offset + i], agreed, bitcast<f32>(p.factor_bits));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn dequantize_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = dequantize_params;
  let factor = bitcast<f32>(p.factor_bits);
  let first = thread_unit(wg, groups, local, 0u);
  let step = thread_unit(wg, groups, local, 1u) - first;
  let end = min(first + UNITS_PER_THREAD * step, p.units);
  let one_block = quads_share_block(first, end, p.block_magic, p.block_shift);
  var agreed = 0;
  if (one_block) { agreed = dequantize_exponents[p.exponents_offset + divide_by_block(4u * first, p.block_magic, p.block_shift)]; }
  for (var v = first; v < end; v += step) {
    if (!one_block) { agreed = dequantize_exponents[p.exponents_offset + divide_by_block(4u * v, p.block_magic, p.block_shift)]; }
    let s = dequantize_src4[p.src_offset / 4u + v];
    dequantize_dst4[p.dst_offset / 4u + v] = vec4u(
      dequantize_element(s.x, agreed, factor), dequantize_element(s.y, agreed, factor),
      dequantize_element(s.z, agreed, factor), dequantize_element(s.w, agreed, factor));
  }
}
