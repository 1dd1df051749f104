// Phase timestamps of allreduce calls, to find where a switch call's time goes in the rack
// (docs/PERFORMANCE.md, "Rack fixed cost (session 9)"). Off unless WEBCCL_SWITCH_TRACE=1; then
// every allreduce prints one line to stderr when it settles:
//   webccl-switch-trace {"entry":…,"run":…,"exponents":…,"agreed":…,"stream":…,"native":{…},"resolved":…,"exit":…}
// in milliseconds of the monotonic clock (CLOCK_MONOTONIC, the same in every process and
// network namespace of a host, and the addon's steady_clock), so the lines of several ranks line
// up (bench/switch-trace.ts reads them). One call at a time: a process tracing calls that overlap
// gets the marks of the later in the earlier's line, which a benchmark's call loop never does.
// Off, each mark is one test of an undefined variable.
import type { NativeStreamTimes } from '../native/addon.js';
import { readChoice } from '../settings.js';

type Record = { [phase: string]: number | NativeStreamTimes };

const ON = readChoice('WEBCCL_SWITCH_TRACE', ['0', '1'], '0') === '1';
let current: Record | undefined;

/** Milliseconds of the monotonic clock (process.hrtime in Node; performance.now elsewhere, not comparable across processes). */
function now(): number {
  const hrtime = (globalThis as { process?: { hrtime?: { bigint?: () => bigint } } }).process?.hrtime?.bigint;
  return hrtime === undefined ? performance.now() : Number(hrtime()) / 1e6;
}

/** A call starts (the communicator's allReduce); returns its end, to call when it settles, or undefined when tracing is off. */
export function traceCall(): (() => void) | undefined {
  if (!ON) return undefined;
  const record: Record = { entry: now() };
  current = record;
  return () => {
    record.exit = now();
    if (current === record) current = undefined;
    console.error(`webccl-switch-trace ${JSON.stringify(record)}`);
  };
}

/** A phase of the call in flight reached (no-op when tracing is off). */
export function traceMark(phase: string): void {
  if (current !== undefined) current[phase] = now();
}

/** The native stream's times of the call in flight. */
export function traceNative(times: NativeStreamTimes | undefined): void {
  if (current !== undefined && times !== undefined) current.native = times;
}
