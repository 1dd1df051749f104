// Per-rank V8 CPU profiles of a bench run by webccl-run (Node refuses --cpu-prof in NODE_OPTIONS,
// and webccl-run starts each rank as `node SCRIPT`): this file is that script; it starts the
// profiler in the rank's own process (node:inspector, sampling every 200 µs), runs the bench
// given after it, and writes PROFILE_DIR/rankN.cpuprofile when the rank's event loop empties.
// Only the main (JS) thread is sampled: native calls count for the JS function that made them,
// the addon's own I/O threads do not show. Lines of .ts files are those of esbuild's output
// (test/ts-hooks.mjs), a few off the source's.
//   PROFILE_DIR=/tmp/prof WEBCCL_TRANSPORT=ntcp SIZES=4194304 ITERS=100 node --import ./test/register.mjs \
//     bin/webccl-run.ts -np 4 bench/cpu-profile.mjs bench/allreduce-cpu.ts
//   node bench/cpu-profile.mjs --top /tmp/prof [N]    # self time by function, all ranks summed
import { Session } from 'node:inspector';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const SAMPLE_US = 200;

if (process.argv[2] === '--top') {
  top(process.argv[3], Number(process.argv[4] ?? 30));
} else {
  await profile(process.argv[2], process.env['PROFILE_DIR']);
}

async function profile(script, dir) {
  if (!script || !dir) throw new Error('usage: PROFILE_DIR=DIR webccl-run -np N bench/cpu-profile.mjs SCRIPT (see the top of bench/cpu-profile.mjs)');
  register('../test/ts-hooks.mjs', import.meta.url);
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: SAMPLE_US });
  session.post('Profiler.start');
  let written = false;
  process.on('beforeExit', () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (error, result) => {
      if (error) throw error;
      writeFileSync(join(dir, `rank${process.env['RANK'] ?? process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
  // The script reads its own arguments from argv[2] on, as if started as `node SCRIPT ARGS`.
  process.argv.splice(1, 2, resolve(script));
  await import(pathToFileURL(resolve(script)).href);
}

/** Prints the functions with the most samples of their own over every profile in `dir`. */
function top(dir, count) {
  const self = new Map();
  let total = 0;
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    const { nodes, samples } = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const byId = new Map(nodes.map((node) => [node.id, node.callFrame]));
    for (const id of samples) {
      const frame = byId.get(id);
      const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(lib|bench|bin|test)\//, '$1/')}:${frame.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + 1);
      total++;
    }
  }
  console.log(`${total} samples of ${SAMPLE_US} µs in ${dir}`);
  for (const [key, samples] of [...self].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${(100 * samples / total).toFixed(1).padStart(5)}%  ${(samples * SAMPLE_US / 1000).toFixed(0).padStart(6)} ms  ${key}`);
  }
}
