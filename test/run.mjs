// Runs every uvu suite (test/**/*.test.ts) in its own Node process, so that one suite's
// crash or leaked handle cannot take the others down, then prints the totals as the
// single line CI reads: `N passed, N failed`.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SUITE_BUDGET_MS = Number(process.env.WEBCCL_SUITE_BUDGET_MS ?? 15 * 60_000);
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;

function findSuites(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findSuites(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function runSuite(file) {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', './test/register.mjs', file], {
      cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    // No suite may hang CI: a suite still running after its budget is killed and counted.
    const guard = setTimeout(() => { out += '\n# killed: suite ran past its time budget\n'; child.kill('SIGKILL'); }, SUITE_BUDGET_MS);
    child.stdout.on('data', (chunk) => { process.stdout.write(chunk); out += chunk; });
    child.on('close', (code) => { clearTimeout(guard); done({ code, out }); });
  });
}

let passed = 0;
let failed = 0;
const suites = findSuites(join(root, 'test')).sort().filter((f) => !filter || filter.test(f));
for (const file of suites) {
  const name = relative(root, file);
  console.log(`\n# ${name}`);
  const { code, out } = await runSuite(name);
  // uvu ends each process with "Total: N / Passed: N / Skipped: N"; strip colours first.
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  passed += ok;
  failed += total - ok;
  if (code !== 0 && total === ok) {
    // The process died outside any test (crash, hang guard, import error): count it.
    console.log(`# ${name} exited with code ${code} outside a test${out.includes('# killed') ? ' (time budget)' : ''}`);
    failed += 1;
  }
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && suites.length > 0 ? 0 : 1);
