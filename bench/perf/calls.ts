// The loop webccl-perf times (and its -w warm-up), in a function of its own. An async function is
// re-entered at every `await`, so the function that holds a call loop is the one V8 finds hot and
// compiles; when that was the sweep's whole measurement (its check, its buffers, its figures) the
// first timed row ran code paths the JIT warm-up had not (the check, -w), deoptimized it, and
// TurboFan compiled it again on a helper thread, 5-14 ms of CPU on a 2-core host, during the
// out-of-place column (timed first): 6-17 us an 8-byte call against 0.5-1 us in place
// (docs/PERFORMANCE.md, "oop18"). This loop is the same in the warm-up and in every row.

/** Makes `count` calls of `call`, one after the other. */
export async function callInTurn(call: () => Promise<void>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await call();
}
