// A large board call begins on the JS thread and, where a wait runs out (or its time there is
// up), the board's thread resumes it where it stands (native/src/board.cc, run_here / advance).
// Ranks in processes of their own (test/workers/board-hand-over.ts) hand every call over at the
// k-th wait (WEBCCL_BOARD_TEST_HAND_OVER_AT), for every wait of a three-chunk call: the input
// arrival of each chunk and an allreduce's or reduce root's last gather. Every collective's
// result must be the oracle's bit for bit on every rank, and the call handed over exactly when
// it has more than k waits; with no hook the JS thread runs it all (a second's spin per wait).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { boardSegmentName } from '../lib/native/board.js';
import { requireAddon } from './helpers/native-transports.js';
import { within } from './within.js';

requireAddon('shm');
const children: ChildProcess[] = [];
test.after(() => children.forEach((child) => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));

interface Report { rank: number; point: number; results: { label: string; handed: boolean; wrong: string }[] }

/** Rank `rank`'s worker over boards `name`-k for each k of `points`: its JSON lines once it exited. */
function runWorker(name: string, rank: number, size: number, points: number[]): Promise<Report[]> {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/board-hand-over.ts', name, String(rank), String(size), points.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  return new Promise((resolve, reject) => child.on('exit', (code) => {
    if (code !== 0) return reject(new Error(`rank ${rank}'s worker exited with ${code}`));
    resolve(out.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Report));
  }));
}

/** Waits of each call of the worker on `rank` (three chunks each): an allreduce's and a reduce root's one more. */
function waits(label: string, rank: number): number {
  if (label.startsWith('allReduce')) return 4;
  if (label === 'reduce') return rank === 1 ? 4 : 3;
  return 3;
}

for (const size of [2, 3]) {
  test(`${size} ranks: every collective handed to the board thread at each of its waits (or never) matches the oracle bit for bit; /dev/shm clean`, async () => {
    const name = boardSegmentName(randomBytes(16).toString('hex'), `hand-over-${size}`);
    const points = [-1, 0, 1, 2, 3];
    const reports = await within(Promise.all(Array.from({ length: size }, (_, rank) => runWorker(name, rank, size, points))), 120_000, `${size} ranks' hand-over runs`);
    for (const lines of reports) {
      assert.equal(lines.map((line) => line.point), points, 'a report per hand-over point');
      for (const { rank, point, results } of lines) {
        assert.equal(results.length, 6, `rank ${rank} ran every collective`);
        for (const { label, handed, wrong } of results) {
          assert.is(wrong, '', `rank ${rank}, hand-over at wait ${point}: ${label}`);
          assert.is(handed, point >= 0 && waits(label, rank) > point, `rank ${rank}, hand-over at wait ${point}: ${label} handed over`);
        }
      }
    }
    assert.equal(readdirSync('/dev/shm').filter((file) => file.startsWith(name.slice(1))), [], 'nothing left in /dev/shm');
  });
}

test.run();
