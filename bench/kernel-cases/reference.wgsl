// The bandwidth references of bench/kernels.ts: the plainest kernels that move the same bytes
// as a data-path kernel, so that a kernel's GB/s divided by theirs says how far it is from what
// the device's memory allows. `copy` reads and writes a vec4<f32> per unit, `add` reads two and
// writes their sum (a+b -> c, the shape of a reduction). UNITS_PER_THREAD units per thread in
// the device's unit layout (thread_unit, shaders/common.wgsl), like the kernels they judge.

struct Params {
  units: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> c: array<vec4f>;
@group(0) @binding(2) var<storage, read> a: array<vec4f>;
@group(0) @binding(3) var<storage, read> b: array<vec4f>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn copy(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let v = thread_unit(wg, groups, local, k);
    if (v >= params.units) { return; }
    c[v] = a[v];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn add(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  for (var k = 0u; k < UNITS_PER_THREAD; k++) {
    let v = thread_unit(wg, groups, local, k);
    if (v >= params.units) { return; }
    c[v] = a[v] + b[v];
  }
}
