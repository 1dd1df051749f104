// One uvu suite in a Node process of its own, as test/run.mjs runs every suite, and how its
// output is counted. Shared with test/strict-mode.test.ts, which checks that a suite leaving a
// rejected promise or an 'error' event unhandled is counted as failed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
const SUITE_BUDGET_MS = Number(process.env.WEBCCL_SUITE_BUDGET_MS ?? 15 * 60_000);

/**
 * Node options every suite runs with, passed through NODE_OPTIONS so that the ranks and
 * servers a suite spawns inherit them too. --unhandled-rejections=strict: a rejection that
 * nobody handled by the end of its tick is raised as an uncaught exception, which ends the
 * process, even where some module installed an 'unhandledRejection' listener that would
 * silence Node's default mode. A rejection handled only later ("rejectionHandled") is
 * therefore fatal too, and an 'error' event without a listener already is: no error path of
 * lib/ may leave either behind.
 */
export const STRICT_NODE_OPTIONS = '--unhandled-rejections=strict';

/** Runs `file` (relative to the repository root) with `args`; resolves with its exit code and stdout. */
export function runSuite(file, args = [], { echo = true } = {}) {
  return new Promise((done) => {
    const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${STRICT_NODE_OPTIONS}`.trim() };
    const child = spawn(process.execPath, ['--import', './test/register.mjs', file, ...args], {
      cwd: root, env, stdio: ['ignore', 'pipe', echo ? 'inherit' : 'pipe'],
    });
    let out = '';
    // No suite may hang CI: a suite still running after its budget is killed and counted.
    const guard = setTimeout(() => { out += '\n# killed: suite ran past its time budget\n'; child.kill('SIGKILL'); }, SUITE_BUDGET_MS);
    child.stdout.on('data', (chunk) => { if (echo) process.stdout.write(chunk); out += chunk; });
    if (!echo) child.stderr.on('data', (chunk) => { out += chunk; });
    child.on('close', (code) => { clearTimeout(guard); done({ code, out }); });
  });
}

/** Tests passed and failed in one suite's run; a process that died outside any test counts as one failure. */
export function countResults({ code, out }) {
  // uvu ends each process with "Total: N / Passed: N / Skipped: N"; strip colours first. The
  // last one counts: a failure message may quote the output of a process the suite ran.
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const last = (pattern) => Number([...plain.matchAll(pattern)].at(-1)?.[1] ?? 0);
  const total = last(/Total:\s+(\d+)/g);
  const passed = last(/Passed:\s+(\d+)/g);
  let failed = total - passed;
  let note;
  if (code !== 0 && total === passed) {
    // The process died outside any test (crash, unhandled rejection, hang guard, import error).
    note = `exited with code ${code} outside a test${out.includes('# killed') ? ' (time budget)' : ''}`;
    failed += 1;
  }
  return { passed, failed, note };
}
