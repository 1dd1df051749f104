// The three commands' command lines (node:util parseArgs underneath): -h/--help and --version
// exit 0 on every command and subcommand, `--opt=value` is accepted, an unknown option is an
// error naming it, with exit status 2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

const COMMANDS: Record<string, string[]> = {
  'webccl': ['bin/webccl.ts'],
  'webccl serve': ['bin/webccl.ts', 'serve'],
  'webccl switch': ['bin/webccl.ts', 'switch'],
  'webccl-run': ['bin/webccl-run.ts'],
  'webccl-perf': ['bin/webccl-perf.ts'],
};

function run(command: string, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', './test/register.mjs', ...COMMANDS[command]!, ...args], { encoding: 'utf8', timeout: 30_000 });
}

for (const command of Object.keys(COMMANDS)) {
  test(`${command}: --help and -h print the usage and exit 0; --version prints ${VERSION}`, () => {
    for (const flag of ['--help', '-h']) {
      const help = run(command, ...(command === 'webccl-perf' ? ['allreduce'] : []), flag);
      assert.is(help.status, 0, `${flag}: ${help.stderr}`);
      assert.match(help.stdout, /usage: /);
    }
    const version = run(command, '--version');
    assert.is(version.status, 0, version.stderr);
    assert.is(version.stdout.trim(), VERSION);
  });

  test(`${command}: an unknown option is named, exit 2`, () => {
    const args = command === 'webccl-perf' ? ['allreduce', '--bogus=1'] : command === 'webccl-run' ? ['--bogus=1', 'x.js'] : ['--bogus=1'];
    const bad = run(command, ...args);
    assert.is(bad.status, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, command === 'webccl' ? /unknown command --bogus=1/ : /unknown option --bogus/);
  });
}

test('--opt=value works on every command', () => {
  assert.match(run('webccl serve', '--port=notaport').stderr, /--port notaport is not a port number/);
  assert.match(run('webccl switch', '--max-workers=40').stderr, /--max-workers 40 is not in \[1, 32\]/);
  assert.match(run('webccl-run', '--np=two', 'x.js').stderr, /-np needs a positive integer, got two/);
  assert.match(run('webccl-perf', 'allreduce', '--iters=0').stderr, /-n needs an integer >= 1/);
});

test.run();
