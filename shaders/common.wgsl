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
