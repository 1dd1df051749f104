// What one Board.run costs on the JS thread with no peer to wait for: a board of one rank, whose
// 8-byte allreduce finishes at its first look, so a call is the N-API call (arguments, the
// views' info), the native run's set-up and its fold, nothing else. ns per call of each of 7
// rounds of 10^6 calls (read the smallest: a loaded host inflates the rest). OOP=1 passes the
// out-of-place call's arguments (undefined output, a separate input), as a short-path call does.
//   OOP=1 node --import ./test/register.mjs bench/board-napi-cost.ts
import { runCode } from '../lib/native/board.js';
import { loadNative } from '../lib/native/load.js';
const loaded = loadNative();
if (!('addon' in loaded) || loaded.addon.Board === undefined) throw new Error('no native board');
const board = new loaded.addon.Board(`/webccl-tmp-${process.pid}`, 0, 1, 1 << 20, 30_000, () => {}, 0, 200000);
while (board.singleCopy() === null) await new Promise((r) => setTimeout(r, 1));
const values = new Uint8Array(8);
const input = new Uint8Array(8);
const code = runCode({ collective: 'allReduce', dtype: 'float32', op: 'sum' });
const out = process.env['OOP'] === '1';
for (let r = 0; r < 7; r++) {
  const n = 1_000_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (out ? !board.run(i, values, code, i, undefined, input) : !board.run(i, values, code, i)) throw new Error('handed');
  }
  console.log(`${(Number(process.hrtime.bigint() - t) / n).toFixed(1)} ns/call`);
}
board.close();
process.exit(0);
