// Where a switch allreduce's time goes, from the phase lines of every rank
// (WEBCCL_SWITCH_TRACE=1, lib/switch/call-trace.ts), e.g. of the simulated rack:
//   WEBCCL_SWITCH_TRACE=1 bash bench/switch-rack.sh -n 4 -b 1M -e 1M -i 20 -A switch -k /tmp/trace
//   node --import ./test/register.mjs bench/switch-trace.ts /tmp/trace/switch.*.out
// One file per rank (its lines in call order; the n-th switch call of every rank is the same
// call). Prints medians over the calls (the first `--skip` left out, default 3: warm-up) in ms:
// each rank's own phases, and across the ranks how far apart they were at each step. The
// clock is CLOCK_MONOTONIC, shared by every process of the host.
import { readFileSync } from 'node:fs';

interface Times { cwnd: number; started: number; leadDone: number; firstDataSend: number; firstResult: number; lastFirstSend: number; lastResult: number; ended: number }
interface Call { entry: number; run?: number; exponents?: number; agreed?: number; stream?: number; streamReturned?: number; resolved?: number; exit: number; native?: Times }

const args = process.argv.slice(2);
const skipAt = args.indexOf('--skip');
const skip = skipAt >= 0 ? Number(args.splice(skipAt, 2)[1]) : 3;
if (args.length < 2) {
  console.error('usage: bench/switch-trace.ts [--skip N] RANK0-FILE RANK1-FILE ... (at least two ranks)');
  process.exit(2);
}
const ranks: Call[][] = args.map((file) => readFileSync(file, 'utf8').split('\n')
  .map((line) => line.match(/webccl-switch-trace (\{.*\})/)?.[1])
  .filter((json): json is string => json !== undefined)
  .map((json) => JSON.parse(json) as Call)
  .filter((call) => call.native !== undefined));
const calls = Math.min(...ranks.map((r) => r.length));
if (calls <= skip) {
  console.error(`switch-trace: ${calls} traced switch calls on the shortest rank, not more than --skip ${skip}`);
  process.exit(1);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const rows = new Map<string, number[]>();
const add = (name: string, value: number | undefined) => {
  if (value === undefined || Number.isNaN(value)) return;
  rows.set(name, [...(rows.get(name) ?? []), value]);
};
const spread = (values: (number | undefined)[]) => {
  const xs = values.filter((x): x is number => x !== undefined && x >= 0);
  return xs.length === values.length ? Math.max(...xs) - Math.min(...xs) : undefined;
};

for (let k = skip; k < calls; k++) {
  const call = ranks.map((r) => r[k]!);
  const next = k + 1 < calls ? ranks.map((r) => r[k + 1]!) : undefined;
  for (const c of call) {
    const n = c.native!;
    add('rank: entry -> run (queue, plan, join)', c.run === undefined ? undefined : c.run - c.entry);
    add('rank: run -> exponents (local)', c.exponents === undefined || c.run === undefined ? undefined : c.exponents - c.run);
    add('rank: exponents -> agreed (over the link)', c.agreed === undefined || c.exponents === undefined ? undefined : c.agreed - c.exponents);
    add('rank: agreed -> stream()', c.stream === undefined ? undefined : c.stream - (c.agreed ?? c.run ?? c.entry));
    add('rank: congestion window at the start (packets)', n.cwnd);
    add('rank: stream() -> first window out', n.started - c.stream!);
    add('rank: stream() returned (the first window quantized and sent)', c.streamReturned! - c.stream!);
    add('rank: first window -> first result', n.firstResult - n.started);
    add('rank: first window -> first data sent (the lead agreed)', n.firstDataSend - n.started);
    add('rank: first window -> last first send', n.lastFirstSend - n.started);
    add('rank: first window -> last result', n.lastResult - n.started);
    add('rank: last result -> resolved in JS', c.resolved! - n.lastResult);
    add('rank: resolved -> call settled', c.exit - c.resolved!);
    add('rank: entry -> settled', c.exit - c.entry);
  }
  add('ranks: entry spread', spread(call.map((c) => c.entry)));
  add('ranks: agreed spread', spread(call.map((c) => c.agreed)));
  add('ranks: first window spread', spread(call.map((c) => c.native!.started)));
  add('ranks: last result spread', spread(call.map((c) => c.native!.lastResult)));
  const lastStart = Math.max(...call.map((c) => c.native!.started));
  const lastResult = Math.max(...call.map((c) => c.native!.lastResult));
  add('call: last first window -> last result', lastResult - lastStart);
  const last = call.find((c) => c.native!.started === lastStart)!.native!;
  add('call: last starter: first window -> its first result', last.firstResult - last.started);
  add('call: last starter: first window -> its first data sent', last.firstDataSend - last.started);
  if (last.leadDone >= 0) add('call: last starter: first window -> its lead agreed', last.leadDone - last.started);
  add('call: last starter: first window -> its last first send', last.lastFirstSend - last.started);
  add('call: last starter: first window -> its last result', last.lastResult - last.started);
  add('call: first entry -> last result', lastResult - Math.min(...call.map((c) => c.entry)));
  add('ranks: slowest last result -> resolved in JS', Math.max(...call.map((c) => c.resolved! - c.native!.lastResult)));
  if (next !== undefined) {
    for (const [r, c] of call.entries()) add('rank: settled -> next entry', next[r]!.entry - c.exit);
    const lastEntry = Math.max(...next.map((c) => c.entry));
    add('gap: next call\'s last entry -> its last first window', Math.max(...next.map((c) => c.native!.started)) - lastEntry);
    add('gap: next call\'s last entry -> the last rank agreed', Math.max(...next.map((c) => c.agreed ?? c.entry)) - lastEntry);
    add('gap: last result -> next call\'s last entry', Math.max(...next.map((c) => c.entry)) - lastResult);
    add('gap: last result -> next call\'s last first window', Math.max(...next.map((c) => c.native!.started)) - lastResult);
    add('cycle: last first window to the next one (the call\'s time)', Math.max(...next.map((c) => c.native!.started)) - lastStart);
  }
}
console.log(`# ${ranks.length} ranks, ${calls - skip} calls (first ${skip} skipped); medians (10th-90th percentile) in ms`);
for (const [name, values] of rows) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  console.log(`${name.padEnd(62)} ${median(values).toFixed(2).padStart(8)}  (${at(0.1).toFixed(2)}-${at(0.9).toFixed(2)})`);
}
