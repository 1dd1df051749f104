// Shared by every kernel family (prepended after the variant's prelude).
//
// Every kernel gets a uniform block whose first word is the number of units of work (one or
// UNITS_PER_THREAD per thread, see KernelVariant): dispatches larger than
// maxComputeWorkgroupsPerDimension are folded into a 2-D grid, so the linear thread index is
// rebuilt from both dimensions and units past the end are skipped.

fn linear_index(workgroup: vec3u, groups: vec3u, local: u32) -> u32 {
  return (workgroup.x + workgroup.y * groups.x) * WORKGROUP_SIZE + local;
}

// The units a thread owns: UNITS_PER_THREAD consecutive ones from the returned index, fewer at
// the end (the caller stops at the unit count). Consecutive rather than grid-strided: measured
// faster on lavapipe, where each invocation walks its own cache lines.
fn first_unit(workgroup: vec3u, groups: vec3u, local: u32) -> u32 {
  return linear_index(workgroup, groups, local) * UNITS_PER_THREAD;
}

// The k-th unit (k < UNITS_PER_THREAD) of a thread; increasing in k, so a loop over k stops at
// the first one past the unit count. A workgroup owns the tile of WORKGROUP_SIZE *
// UNITS_PER_THREAD units from group * tile in both layouts (GpuContext picks one per device,
// the prelude says which):
// - COALESCED_UNITS: thread `local` takes every WORKGROUP_SIZE-th unit of the tile from
//   `local`, so the threads of a warp touch neighbouring addresses at every step, which a
//   GPU's memory system serves in whole lines (on NVIDIA, adjacent threads 16*UPT bytes apart
//   waste most of every transaction);
// - otherwise UNITS_PER_THREAD consecutive units, what lavapipe prefers (first_unit's layout).
fn thread_unit(workgroup: vec3u, groups: vec3u, local: u32, k: u32) -> u32 {
  let group = workgroup.x + workgroup.y * groups.x;
  if (COALESCED_UNITS) { return (group * UNITS_PER_THREAD + k) * WORKGROUP_SIZE + local; }
  return (group * WORKGROUP_SIZE + local) * UNITS_PER_THREAD + k;
}

// The NaN rule of lib/cpu/reduction.ts on f32 bits, for the f32 adds outside the reduce family
// (the hop codecs' folds: cast.wgsl, half-fold-encode.wgsl, block-decode.wgsl, int8-fold.wgsl):
// `r` is the device's a + b (or a - b); where a or b is NaN the result is the first NaN operand,
// quiet bit set, sign and payload kept, whatever NaN the device made, and a NaN made from
// numbers (inf - inf) is the canonical CANONICAL_NAN, not the device's own (lavapipe's x86 code
// gives 0xffc00000, NVIDIA 0x7fffffff). Tested on the bits, as WGSL lets compilers assume float
// comparisons never see NaN.
const CANONICAL_NAN = 0x7fc00000u;

fn is_nan_f32_bits(bits: u32) -> bool {
  return (bits & 0x7fffffffu) > 0x7f800000u;
}

// A sum is NaN wherever an operand is (any IEEE device; r is tested on its bits, so no compiler
// can assume otherwise), so the common case costs one test of r, and lavapipe skips the rest
// unless a lane of the SIMD batch holds a NaN.
fn first_nan_f32(a: u32, b: u32, r: u32) -> u32 {
  if (!is_nan_f32_bits(r)) { return r; }
  return select(select(CANONICAL_NAN, b | 0x00400000u, is_nan_f32_bits(b)), a | 0x00400000u, is_nan_f32_bits(a));
}

// a + b on f32 bits, by the rule.
fn add_f32_bits(a: u32, b: u32) -> u32 {
  return first_nan_f32(a, b, bitcast<u32>(bitcast<f32>(a) + bitcast<f32>(b)));
}

fn first_nan_f32x4(a: vec4u, b: vec4u, r: vec4u) -> vec4u {
  let r_nan = (r & vec4u(0x7fffffffu)) > vec4u(0x7f800000u);
  if (!any(r_nan)) { return r; }
  let a_nan = (a & vec4u(0x7fffffffu)) > vec4u(0x7f800000u);
  let b_nan = (b & vec4u(0x7fffffffu)) > vec4u(0x7f800000u);
  let made = select(r, vec4u(CANONICAL_NAN), r_nan);
  return select(select(made, b | vec4u(0x00400000u), b_nan), a | vec4u(0x00400000u), a_nan);
}
