// Bind groups reused across dispatches with the same pipeline, uniform buffer and storage
// ranges (createBindGroup is, after the uniform buffer, the largest per-dispatch cost on small
// messages). The cache must not keep a caller's buffer alive: a bind group holds its buffers
// natively, so a strongly held one would pin the memory of a buffer the caller dropped.
// Lookups therefore walk a chain of WeakMaps, one level per object (pipeline, uniform buffer,
// each storage buffer in binding order), ending in a small map keyed by the ranges: an entry is
// reachable only while every object on its path is, and goes with the first of them that is
// collected. A destroyed buffer's memory is released by destroy() whatever refers to it.

/** Bind groups kept per (pipeline, uniform, buffers) path: different offsets into the same buffers. */
export const BIND_GROUPS_PER_PATH = 32;

type Level = WeakMap<object, Level | Map<string, GPUBindGroup>>;

export class BindGroupCache {
  private readonly root: Level = new WeakMap();

  constructor(private readonly device: GPUDevice) {}

  /** Binding 0 is `uniform`, bindings 1.. are `storage` in order (GpuContext.dispatch's layout). */
  get(pipeline: GPUComputePipeline, uniform: GPUBuffer, storage: readonly GPUBufferBinding[]): GPUBindGroup {
    const path: object[] = [pipeline, uniform, ...storage.map((s) => s.buffer)];
    let level = this.root;
    for (const object of path.slice(0, -1)) {
      let next = level.get(object) as Level | undefined;
      if (!next) level.set(object, (next = new WeakMap()));
      level = next;
    }
    const last = path[path.length - 1]!;
    let groups = level.get(last) as Map<string, GPUBindGroup> | undefined;
    if (!groups) level.set(last, (groups = new Map()));
    const key = storage.map((s) => `${s.offset ?? 0}+${s.size ?? 'rest'}`).join(',');
    let group = groups.get(key);
    if (group) {
      groups.delete(key);
    } else {
      group = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: uniform } }, ...storage.map((resource, i) => ({ binding: i + 1, resource }))],
      });
      if (groups.size >= BIND_GROUPS_PER_PATH) groups.delete(groups.keys().next().value!);
    }
    groups.set(key, group); // most recently used last
    return group;
  }
}
