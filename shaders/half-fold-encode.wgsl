// The compressed ring's send side for a 16-bit hop codec in one pass: acc = acc + widen(recv),
// then out = narrow(acc), where recv and out are f32 values' halves packed two per word (element
// 2i in the low half) and acc is f32. Bit for bit cast.wgsl's widen_accumulate followed by its
// narrow (one f32 add per element, then the same RNE narrowing through half-lanes.wgsl), without
// acc's second read. An odd count leaves the upper half of out's last word as it was, as narrow
// does. The unit is a quad of 4 elements: two packed words on each 16-bit side.
//
// The prelude (lib/gpu/half-fold-encode.ts) declares HALF and the uniform block FoldEncodeParams
// (units, count, then the word offsets of recv, acc and out in their bindings).

@group(0) @binding(0) var<uniform> fold_params: FoldEncodeParams;
@group(0) @binding(1) var<storage, read> fold_recv: array<u32>;
@group(0) @binding(2) var<storage, read_write> fold_acc: array<u32>;
// The same binding seen as vec4s, for fold_encode_vec4 (an entry point uses one view).
@group(0) @binding(2) var<storage, read_write> fold_acc4: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> fold_out: array<u32>;

fn folded(old: u32, half: u32) -> u32 {
  return bitcast<u32>(bitcast<f32>(old) + bitcast<f32>(from_half(half)));
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

// Whole quads with acc on a vec4 boundary of its binding: one vec4 load and store of acc per quad.
@compute @workgroup_size(WORKGROUP_SIZE)
fn fold_encode_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let p = fold_params;
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let quad = thread_unit(wg, groups, local, k);
    if (quad >= p.units) { return; }
    let low = fold_recv[p.recv_offset + quad * 2u];
    let high = fold_recv[p.recv_offset + quad * 2u + 1u];
    let widened = vec4u(from_half(low & 0xffffu), from_half(low >> 16u), from_half(high & 0xffffu), from_half(high >> 16u));
    let at = p.acc_offset / 4u + quad;
    let sum = bitcast<vec4u>(bitcast<vec4f>(fold_acc4[at]) + bitcast<vec4f>(widened));
    fold_acc4[at] = sum;
    fold_out[p.out_offset + quad * 2u] = to_half(sum.x) | (to_half(sum.y) << 16u);
    fold_out[p.out_offset + quad * 2u + 1u] = to_half(sum.z) | (to_half(sum.w) << 16u);
  }
}
