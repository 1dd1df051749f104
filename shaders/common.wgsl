// Shared by every kernel family (prepended after the variant's prelude).
//
// Every kernel gets a uniform block whose first word is the number of threads wanted:
// dispatches larger than maxComputeWorkgroupsPerDimension are folded into a 2-D grid, so
// the linear thread index is rebuilt from both dimensions and threads past the end exit.

fn linear_index(workgroup: vec3u, groups: vec3u, local: u32) -> u32 {
  return (workgroup.x + workgroup.y * groups.x) * WORKGROUP_SIZE + local;
}
