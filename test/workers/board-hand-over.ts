// A board rank in a process of its own (test/board-hand-over.test.ts): for each hand-over point
// k of argv[5] (comma-separated; -1: none), joins board `argv[2]-k` as rank argv[3] of argv[4]
// with WEBCCL_BOARD_TEST_HAND_OVER_AT=k, runs one chunked call of every collective through the
// addon's Board.run, and prints one JSON line per board: for each call whether the JS thread
// handed it over (run returned false) and where its bytes first differ from the oracle's ("" if
// nowhere). Inputs are inputFor's, known to every rank, so each rank checks its own result.
import { loadNative } from '../../lib/native/load.js';
import { runCode } from '../../lib/native/board.js';
import type { BoardWork } from '../../lib/native/addon.js';
import { BOARD_BUFFER_BYTES } from '../../lib/transport/board.js';
import { inputFor, oracleReduce, sameElements } from '../helpers/comm-world.js';

const [name, rankText, sizeText, pointsText] = process.argv.slice(2);
const rank = Number(rankText), size = Number(sizeText);
const load = loadNative();
if (!('addon' in load) || load.addon.Board === undefined) throw new Error('board-hand-over: no native board');
const { Board } = load.addon;

const F32 = BOARD_BUFFER_BYTES / 4;
/** Elements that make three chunks (the last ragged) of each collective's walk. */
const sliced = Math.floor(2.5 * F32) + 7;
const block = 2 * F32 + 5;
const scatterBlock = 2 * Math.floor(F32 / size) + 5;

const inputs = (count: number, seed: number) => Array.from({ length: size }, (_, r) => inputFor('float32', 'sum', r, count, seed) as Float32Array);
const bytesOf = (data: Float32Array) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

interface Case { label: string; work: BoardWork; view: Float32Array; input?: Float32Array; expected: Float32Array }

function cases(): Case[] {
  const all = inputs(sliced, 1);
  const sum = oracleReduce(all, sliced, 'float32', 'sum') as Float32Array;
  const scatter = inputs(size * scatterBlock, 2);
  const scatterSum = oracleReduce(scatter, size * scatterBlock, 'float32', 'sum') as Float32Array;
  const scattered = scatter[rank]!.slice();
  scattered.set(scatterSum.subarray(rank * scatterBlock, (rank + 1) * scatterBlock), rank * scatterBlock);
  const blocks = inputs(size * block, 3);
  const gathered = new Float32Array(size * block);
  for (let r = 0; r < size; r++) gathered.set(blocks[r]!.subarray(r * block, (r + 1) * block), r * block);
  const root = size - 1;
  const spread = inputs(block, 4);
  return [
    { label: 'allReduce in place', work: { collective: 'allReduce', dtype: 'float32', op: 'sum' }, view: all[rank]!.slice(), expected: sum },
    { label: 'allReduce out of place', work: { collective: 'allReduce', dtype: 'float32', op: 'sum' }, view: new Float32Array(sliced), input: all[rank]!.slice(), expected: sum },
    { label: 'reduce', work: { collective: 'reduce', dtype: 'float32', op: 'sum', root: 1 }, view: all[rank]!.slice(), expected: rank === 1 ? sum : all[rank]! },
    { label: 'reduceScatter', work: { collective: 'reduceScatter', dtype: 'float32', op: 'sum' }, view: scatter[rank]!.slice(), expected: scattered },
    { label: 'allGather', work: { collective: 'allGather', dtype: 'float32' }, view: blocks[rank]!.slice(), expected: gathered },
    { label: 'broadcast', work: { collective: 'broadcast', dtype: 'float32', root }, view: spread[rank]!.slice(), expected: spread[root]! },
  ];
}

for (const point of pointsText!.split(',').map(Number)) {
  if (point >= 0) process.env['WEBCCL_BOARD_TEST_HAND_OVER_AT'] = String(point);
  else delete process.env['WEBCCL_BOARD_TEST_HAND_OVER_AT'];
  const completions = new Map<number, (error: string | null) => void>();
  // Each wait on the JS thread may poll a second: only the hook hands a call over.
  const board = new Board(`${name}-${point < 0 ? 'none' : point}`, rank, size, BOARD_BUFFER_BYTES, 30_000, (id, error) => completions.get(id)!(error), 0, 1e9);
  while (board.singleCopy() === null) await new Promise((resolve) => setTimeout(resolve, 1));
  const results = [];
  let stamp = 1;
  for (const { label, work, view, input, expected } of cases()) {
    const id = stamp;
    const settled = new Promise<string | null>((resolve) => completions.set(id, resolve));
    const done = board.run(id, bytesOf(view), runCode(work), stamp++, undefined, input && bytesOf(input));
    const error = done ? null : await settled;
    let wrong = error ?? '';
    if (!wrong) try { sameElements(view, expected, label); } catch (mismatch) { wrong = (mismatch as Error).message; }
    results.push({ label, handed: !done, wrong });
  }
  board.close();
  process.stdout.write(`${JSON.stringify({ rank, point, results })}\n`);
}
