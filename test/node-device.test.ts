// createNodeDevice() where Dawn finds no adapter (a child process whose Vulkan loader is pointed
// at no driver): a SystemError that tells a package user what to install, without naming a
// script of this repository (package users do not have .ci/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

test('no adapter: SystemError naming the drivers Dawn needs, no repository script', () => {
  const probe = "import('./lib/gpu/node-device.ts').then((m) => m.createNodeDevice()).then("
    + "() => console.log(JSON.stringify({ got: 'device' })), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))";
  const run = spawnSync(process.execPath, ['--import', './test/register.mjs', '--input-type=module', '-e', probe], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' },
  });
  const report = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { code?: string; message?: string };
  assert.is(report.code, 'SystemError', run.stdout + run.stderr);
  assert.match(report.message!, /no WebGPU adapter found/);
  assert.match(report.message!, /Vulkan driver.*mesa-vulkan-drivers/);
  assert.not.match(report.message!, /\.ci\/|bash /);
});

test.run();
