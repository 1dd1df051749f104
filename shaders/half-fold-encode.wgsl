// The compressed ring's send side for a 16-bit hop codec in one pass: acc = acc + widen(recv),
// then out = narrow(acc), where recv and out are f32 values' halves packed two per word (element
// 2i in the low half) and acc is f32. Bit for bit cast.wgsl's widen_accumulate followed by its
// narrow (one f32 add per element, then the same RNE narrowing through half-lanes.wgsl), without
// acc's second read. An odd count leaves the upper half of out's last word as it was, as narrow
// does. fold_encode's unit is a quad of 4 elements (two packed words on each 16-bit side),
// fold_encode_vec4's an octet of 8 (a vec4 of packed words).
//
// The prelude (lib/gpu/half-fold-encode.ts) declares HALF and the uniform block FoldEncodeParams
// (units, count, then the word offsets of recv, acc and out in their bindings).

@group(0) @binding(0) var<uniform> fold_params: FoldEncodeParams;
@group(0) @binding(1) var<storage, read> fold_recv: array<u32>;
@group(0) @binding(2) var<storage, read_write> fold_acc: array<u32>;
@group(0) @binding(3) var<storage, read_write> fold_out: array<u32>;
// The same bindings seen as vec4s, for fold_encode_vec4 (an entry point uses one view).
@group(0) @binding(1) var<storage, read> fold_recv4: array<vec4u>;
@group(0) @binding(2) var<storage, read_write> fold_acc4: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> fold_out4: array<vec4u>;

// acc's NaN before recv's, by the NaN rule (add_f32_bits, common.wgsl), as the reduce kernel folds.
fn folded(old: u32, half: u32) -> u32 {
  return add_f32_bits(old, from_half(half));
}

// Any quad, up to the count.
@compute @workgroup_size(WORKGROUP_SIZE)
fn fold_encode(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = fold_params;
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let quad = thread_unit(wg, groups, local, k);
    if (quad >= p.units) { return; }
    for (var h = 0u; h < 2u && quad * 4u + 2u * h < p.count; h++) {
      let e = quad * 4u + 2u * h;
      let word = fold_recv[p.recv_offset + quad * 2u + h];
      let at = p.acc_offset + e;
      let low = folded(fold_acc[at], word & 0xffffu);
      fold_acc[at] = low;
      var high = fold_out[p.out_offset + quad * 2u + h] & 0xffff0000u;
      if (e + 1u < p.count) {
        let next = folded(fold_acc[at + 1u], word >> 16u);
        fold_acc[at + 1u] = next;
        high = to_half(next) << 16u;
      }
      fold_out[p.out_offset + quad * 2u + h] = high | to_half(low);
    }
  }
}

// Whole octets of 8 elements with all three streams on vec4 boundaries of their bindings (the
// unit here is an octet: one vec4 of recv and of out, two of acc), so every load and store is a
// vec4 one and a thread moves as many bytes as the cast kernels' vec4 forms.
fn widened_pair(word: u32) -> vec2u {
  return vec2u(from_half(word & 0xffffu), from_half(word >> 16u));
}

fn narrowed_pair(low: u32, high: u32) -> u32 {
  return to_half(low) | (to_half(high) << 16u);
}

fn fold_four(at: u32, low: u32, high: u32) -> vec4u {
  let old = fold_acc4[at];
  let recv = vec4u(widened_pair(low), widened_pair(high));
  let sum = first_nan_f32x4(old, recv, bitcast<vec4u>(bitcast<vec4f>(old) + bitcast<vec4f>(recv)));
  fold_acc4[at] = sum;
  return sum;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fold_encode_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = fold_params;
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let octet = thread_unit(wg, groups, local, k);
    if (octet >= p.units) { return; }
    let words = fold_recv4[p.recv_offset / 4u + octet];
    let first = fold_four(p.acc_offset / 4u + 2u * octet, words.x, words.y);
    let second = fold_four(p.acc_offset / 4u + 2u * octet + 1u, words.z, words.w);
    fold_out4[p.out_offset / 4u + octet] = vec4u(
      narrowed_pair(first.x, first.y), narrowed_pair(first.z, first.w), narrowed_pair(second.x, second.y), narrowed_pair(second.z, second.w),
    );
  }
}
