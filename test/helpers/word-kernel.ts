// Test-only WGSL kernels of one statement per thread over two word arrays: params (a uniform
// block of `threads` then the named u32 fields), src (read) and dst (read-write). The statement
// sees i, the thread's index, and runs for i < params.threads; prepend the shared helpers it calls.
export function wordKernel(fields: readonly string[], statement: string): string {
  return `
struct Params { threads: u32${fields.map((field) => `, ${field}: u32`).join('')} }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) local: u32) {
  let i = linear_index(wg, groups, local);
  if (i >= params.threads) { return; }
  ${statement}
}`;
}
