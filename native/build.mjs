// npm's install script: builds the optional native addon with node-gyp (which npm carries), and
// never fails the install. A machine without g++/make/python3 (or without Node's headers) gets
// a line "webccl native: unavailable: <reason>" and the pure-TypeScript paths at run time.
// WEBCCL_NATIVE=0 skips the build too.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function unavailable(reason) {
  console.log(`webccl native: unavailable: ${reason}`);
  process.exit(0);
}

/** node-gyp: the one npm names while running scripts, else the copy bundled with npm itself. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    const npmCli = process.env.npm_execpath ?? createRequire(import.meta.url).resolve('npm/bin/npm-cli.js');
    candidates.push(join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch { /* no npm module reachable from here */ }
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((path) => path && existsSync(path));
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

if (process.env.WEBCCL_NATIVE === '0') unavailable('WEBCCL_NATIVE=0');
const missing = ['g++', 'make', 'python3'].filter((tool) => !has(tool));
if (missing.length > 0) unavailable(`${missing.join(', ')} not found (install them and run \`node native/build.mjs\`)`);
const nodeGyp = findNodeGyp();
if (!nodeGyp) unavailable('node-gyp not found (it comes with npm)');
// Node's own headers when they sit beside the binary (Debian's nodejs, the official tarballs):
// node-gyp then needs no download, so the build works offline.
const headers = join(dirname(process.execPath), '..', 'include', 'node');
const nodedir = process.env.npm_config_nodedir || (existsSync(join(headers, 'node_api.h')) ? join(headers, '..', '..') : undefined);
const gypArgs = [nodeGyp, 'rebuild', '--loglevel=warn', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const result = spawnSync(process.execPath, gypArgs, { cwd: here, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  process.stderr.write(result.stderr ?? '');
  const first = (result.stderr ?? '').split('\n').find((l) => /error[: ]/i.test(l));
  unavailable(`node-gyp rebuild failed${first ? `: ${first.trim()}` : ` (exit ${result.status ?? result.signal})`}`);
}
console.log(`webccl native: built ${join(here, 'build', 'Release', 'webccl_native.node')}`);
