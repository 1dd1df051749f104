// Runs every uvu suite (test/**/*.test.ts) in its own Node process, so that one suite's
// crash or leaked handle cannot take the others down, then prints the totals as the
// single line CI reads: `N passed, N failed`. Suites run with unhandled rejections fatal
// (test/suite-process.mjs says how and why).
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { countResults, root, runSuite } from './suite-process.mjs';

const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;

function findSuites(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findSuites(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

let passed = 0;
let failed = 0;
const suites = findSuites(join(root, 'test')).sort().filter((f) => !filter || filter.test(f));
for (const file of suites) {
  const name = relative(root, file);
  console.log(`\n# ${name}`);
  const result = countResults(await runSuite(name));
  passed += result.passed;
  failed += result.failed;
  if (result.note) console.log(`# ${name} ${result.note}`);
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && suites.length > 0 ? 0 : 1);
