// Shared by the families that convert between 32-bit values and packed u32 words (bitpack.wgsl,
// cast.wgsl); lib/gpu/packed-transform.ts binds and fills it. Work is counted in packed words
// (the scalar entry points of the families) or in vec4s of packed words (pack_vec4 and
// unpack_vec4 below, for the whole words of a run whose streams are vec4-aligned: see
// packed-transform.ts). dst is always bound writable; src, the one input, is bound on its own
// or, when it lies in dst's buffer (WebGPU forbids binding one buffer writable and read-only in
// one dispatch), read through dst: the prelude declares its binding if it has one, and
// read_input(0u, at) / read_input_vec4(0u, at), which know which (lib/gpu/input-bindings.ts).
//
// The family defines:
//   const VALUES_PER_WORD: u32                       values in one packed word (2 .. 32)
//   fn encode_lane(value: u32, lane: u32) -> u32     value (a u32 of the unpacked side) placed in lane `lane`
//   fn decode_lane(word: u32, lane: u32) -> u32      lane `lane` of a packed word, as the unpacked u32

// Params, the uniform block: declared in lib/gpu/packed-transform.ts (PACKED_IO_LAYOUT), which prepends it.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
// The same binding seen as vec4s, for the vec4 entry points (an entry point uses one view).
@group(0) @binding(1) var<storage, read_write> dst4: array<vec4u>;

fn src_word(i: u32) -> u32 {
  return read_input(0u, params.src_offset + i);
}

// One unit: 4 packed words <-> 4 * VALUES_PER_WORD values, i.e. VALUES_PER_WORD vec4s; value t
// of the unit lies in word t / VALUES_PER_WORD, lane t % VALUES_PER_WORD. The loops have
// constant bounds and unroll. Offsets (params) are in vec4s.
@compute @workgroup_size(WORKGROUP_SIZE)
fn pack_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let v = thread_unit(wg, groups, local, k);
    if (v >= params.units) { return; }
    var words = vec4u();
    for (var q = 0u; q < VALUES_PER_WORD; q++) {
      let values = read_input_vec4(0u, params.src_offset + v * VALUES_PER_WORD + q);
      for (var e = 0u; e < 4u; e++) {
        let t = q * 4u + e;
        words[t / VALUES_PER_WORD] |= encode_lane(values[e], t % VALUES_PER_WORD);
      }
    }
    dst4[params.dst_offset + v] = words;
  }
}

// Packing 1- and 2-bit lanes in the consecutive layout (software adapters): a unit is one packed
// word, its VALUES_PER_WORD / 4 vec4s of values, and a thread takes 8 vec4s (lib/gpu/
// packed-transform.ts), so neighbouring threads read 128 bytes apart where pack_vec4's read 512
// (1-bit) or 256: lavapipe gathers each lane's loads, and ran pack 1-bit faster this way.
// Offsets (params) are in vec4s, as pack_vec4's. The word is stored as a component of dst's vec4
// view, the one view a module whose src is read through dst may use (WGSL: one per entry point).
@compute @workgroup_size(WORKGROUP_SIZE)
fn pack_words_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let w = thread_unit(wg, groups, local, k);
    if (w >= params.units) { return; }
    var word = 0u;
    for (var q = 0u; q < VALUES_PER_WORD / 4u; q++) {
      let values = read_input_vec4(0u, params.src_offset + w * (VALUES_PER_WORD / 4u) + q);
      for (var e = 0u; e < 4u; e++) { word |= encode_lane(values[e], q * 4u + e); }
    }
    dst4[params.dst_offset + w / 4u][w % 4u] = word;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unpack_vec4(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let v = thread_unit(wg, groups, local, k);
    if (v >= params.units) { return; }
    let words = read_input_vec4(0u, params.src_offset + v);
    for (var q = 0u; q < VALUES_PER_WORD; q++) {
      var values: vec4u;
      for (var e = 0u; e < 4u; e++) {
        let t = q * 4u + e;
        values[e] = decode_lane(words[t / VALUES_PER_WORD], t % VALUES_PER_WORD);
      }
      dst4[params.dst_offset + v * VALUES_PER_WORD + q] = values;
    }
  }
}

// unpack_vec4's work with one vec4 of values (4 values, from one or two packed words) as the
// unit instead of four packed words, for the coalesced unit layout (GPUs, lib/gpu/
// packed-transform.ts): at every store neighbouring threads write neighbouring vec4s, and they
// read the same or neighbouring words. In unpack_vec4 a thread stores VALUES_PER_WORD vec4s, so
// a warp's threads are 16 * VALUES_PER_WORD bytes apart at each store (512 for 1-bit lanes):
// many memory transactions per store instruction on a GPU. Offsets (params) are in vec4s.
@compute @workgroup_size(WORKGROUP_SIZE)
fn unpack_quads(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let o = thread_unit(wg, groups, local, k);
    if (o >= params.units) { return; }
    var values: vec4u;
    for (var e = 0u; e < 4u; e++) {
      let t = 4u * o + e;
      // The word through the vec4 view: an entry point that stores through dst4 must read dst's
      // binding (src in dst's buffer) through dst4 too.
      let word = t / VALUES_PER_WORD;
      values[e] = decode_lane(read_input_vec4(0u, params.src_offset + word / 4u)[word % 4u], t % VALUES_PER_WORD);
    }
    dst4[params.dst_offset + o] = values;
  }
}
