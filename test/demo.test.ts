// The browser demo trains: the demo server (demo/demo-server.ts) and two headless chromium tabs,
// each one rank training MNIST in its worker. Both tabs must take rank 0's algorithm and codec
// (their URLs ask for different ones), follow rank 0 when its codec select changes mid-run, end
// with the same weights checksum after every step, and see the loss fall. A screenshot of rank
// 0's tab is taken (to $WEBCCL_DEMO_SCREENSHOT when set: that is how docs/demo.png is made).
// A third case adds a Node rank (demo/node-rank.ts) to two tabs.
// Runs twice: TF.js on WebGPU in the workers (SwiftShader here; gradients allreduced as
// GPUBuffers), and on TF.js's CPU backend (TypedArray allreduce, the fallback of backend=auto).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemo } from '../demo/demo-server.js';
import type { StepReport } from '../demo/protocol.js';
import { Chromium, type BrowserTab } from './helpers/browser.js';
import { within } from './within.js';

const STEP_MS = 20_000;
const RUN_MS = 75_000;
const STEPS = 24;

interface PageState {
  readonly rank: number;
  readonly backend: string;
  readonly reports: StepReport[];
  readonly done: boolean;
  readonly error: string;
}

const stateOf = (tab: BrowserTab) => tab.evaluate<PageState | null>('window.demo ?? null', STEP_MS, 'window.demo');

/** Polls a tab until `ready` holds for its state, failing on a page error or after `ms`. */
async function until(tab: BrowserTab, ready: (s: PageState) => boolean, ms: number, what: string): Promise<PageState> {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await stateOf(tab);
    if (state?.error) throw new Error(`${what}: the page failed: ${state.error}\n${tab.log.slice(-10).join('\n')}`);
    if (state && ready(state)) return state;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (last state: ${JSON.stringify({ ...state, reports: state?.reports.length })})\n${tab.log.slice(-10).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function trainTwoTabs(backend: 'webgpu' | 'cpu', screenshot: boolean): Promise<void> {
  const demo = await within(startDemo({ train: 1200, test: 300 }), STEP_MS, 'demo server');
  const chromium = await Chromium.launch(STEP_MS, ['--window-size=800,840']).catch(async (error) => { await demo.close(); throw error; });
  const scratch = mkdtempSync(join(tmpdir(), 'webccl-demo-'));
  try {
    const url = (algo: string, codec: string) => `${demo.origin}/?size=2&steps=${STEPS}&eval=4&batch=16&backend=${backend}&algo=${algo}&codec=${codec}`;
    const tabs = [await chromium.openTab(url('tree', 'int8'), STEP_MS), await chromium.openTab(url('ring', 'none'), STEP_MS)];
    const seated = await Promise.all(tabs.map((tab) => until(tab, (s) => s.rank >= 0, STEP_MS, 'a seat')));
    const leader = tabs[seated.findIndex((s) => s.rank === 0)]!;
    assert.equal(await algorithmOptions(tabs[0]!), ['ring', 'tree'], 'no switch offered where the server hosts none');
    const leaderAsked = seated[0]!.rank === 0 ? { algorithm: 'tree', codec: 'int8' } : { algorithm: 'ring', codec: 'none' };
    assert.equal(seated.map((s) => s.rank).sort(), [0, 1], 'the two tabs took ranks 0 and 1');

    // Rank 0 switches to onebit once training runs; both ranks must follow within the run.
    await until(leader, (s) => s.reports.length >= 2, RUN_MS, 'rank 0 training two steps');
    await leader.evaluate(`(() => { const s = document.getElementById('codec-choice'); s.value = 'onebit'; s.dispatchEvent(new Event('change')); })()`, STEP_MS, 'codec select');
    const finals = await Promise.all(tabs.map((tab) => until(tab, (s) => s.done, RUN_MS, 'the run')));

    for (const state of finals) {
      assert.is(state.backend, backend, `rank ${state.rank}'s TF.js backend`);
      assert.is(state.reports.length, STEPS, `rank ${state.rank} reported every step`);
      assert.equal(state.reports[0]!.controls, leaderAsked, `rank ${state.rank} ran step 1 with rank 0's choice`);
      assert.is(state.reports.at(-1)!.controls.codec, 'onebit', `rank ${state.rank} followed rank 0 to onebit`);
      for (const r of state.reports) assert.ok(r.bytes > 0, `rank ${state.rank} step ${r.step} sent ${r.bytes} bytes`);
      const first = state.reports[0]!.loss;
      const last = state.reports.slice(-4).reduce((n, r) => n + r.loss, 0) / 4;
      assert.ok(last < first * 0.8, `rank ${state.rank}: loss fell from ${first} to ${last} (mean of the last 4 steps)`);
      assert.ok(state.reports.some((r) => r.accuracy !== undefined), 'test accuracy was measured');
    }
    const [a, b] = finals;
    assert.equal(a!.reports.map((r) => r.checksum), b!.reports.map((r) => r.checksum), 'both ranks hold the same weights after every step');
    assert.equal(a!.reports.map((r) => r.loss), b!.reports.map((r) => r.loss), 'both ranks show the same mean loss');
    // onebit sends less than int8 or none did.
    const bytesOf = (codec: string) => a!.reports.filter((r) => r.controls.codec === codec).map((r) => r.bytes);
    assert.ok(Math.max(...bytesOf('onebit')) < Math.min(...a!.reports.filter((r) => r.controls.codec !== 'onebit').map((r) => r.bytes)), 'onebit sends fewer bytes');
    console.log(`# demo: backend ${a!.backend}; loss ${a!.reports[0]!.loss.toFixed(3)} -> ${a!.reports.at(-1)!.loss.toFixed(3)}; bytes/step ${[...new Set(a!.reports.map((r) => `${r.controls.codec}:${r.bytes}`))].join(' ')}`);

    if (!screenshot) return;
    const png = await chromium.screenshot(leader, STEP_MS);
    assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'the screenshot is a PNG');
    writeFileSync(process.env['WEBCCL_DEMO_SCREENSHOT'] ?? join(scratch, 'demo.png'), png);
  } finally {
    await chromium.close();
    await demo.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

test('two tabs train MNIST on WebGPU in their workers: rank 0 picks algorithm and codec, the loss falls, the weights agree; screenshot', () => trainTwoTabs('webgpu', true));

test('the same on TF.js\'s CPU backend (TypedArray allreduce)', () => trainTwoTabs('cpu', false));

/** demo/node-rank.ts as a child process: its stdout, once it exits 0. */
function nodeRank(origin: string, size: number, steps: number): Promise<string> {
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'demo/node-rank.ts', '--url', origin, '--size', String(size), '--steps', String(steps), '--eval', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => { out += String(chunk); });
  child.stderr.on('data', (chunk) => { out += String(chunk); });
  const exited = new Promise<string>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`node rank exited ${code}:\n${out}`)))));
  return within(exited, RUN_MS, 'the Node rank').finally(() => child.kill('SIGKILL'));
}

test('a Node rank (demo/node-rank.ts) trains with two tabs in one relay world: same weights after every step', async () => {
  const demo = await within(startDemo({ train: 1200, test: 300 }), STEP_MS, 'demo server');
  const chromium = await Chromium.launch(STEP_MS).catch(async (error) => { await demo.close(); throw error; });
  try {
    const steps = 8;
    const url = `${demo.origin}/?size=3&steps=${steps}&eval=4&backend=cpu&codec=bf16`;
    const node = nodeRank(demo.origin, 3, steps);
    const tabs = [await chromium.openTab(url, STEP_MS), await chromium.openTab(url, STEP_MS)];
    const [out, ...finals] = await Promise.all([node, ...tabs.map((tab) => until(tab, (s) => s.done, RUN_MS, 'the run'))]);
    const nodeSums = [...out!.matchAll(/^step (\d+):.*weights ([0-9a-f]{8})$/gm)].map((m) => m[2]);
    assert.is(nodeSums.length, steps, `the Node rank printed every step:\n${out}`);
    for (const state of finals as PageState[]) assert.equal(state.reports.map((r) => r.checksum), nodeSums, `tab rank ${state.rank} and the Node rank hold the same weights`);
    assert.equal((finals as PageState[]).map((s) => s.rank).concat(Number(/rank (\d) of 3/.exec(out!)![1])).sort(), [0, 1, 2], 'three seats');
  } finally {
    await chromium.close();
    await demo.close();
  }
});

const algorithmOptions = (tab: BrowserTab) => tab.evaluate<string[]>(`[...document.getElementById('algorithm-choice').options].map((o) => o.value)`, STEP_MS, 'algorithm options');

test('a demo server hosting a switch: the page offers switch; rank 0 picks it mid-run, both tabs follow through the switch\'s WebSocket door', async () => {
  const demo = await within(startDemo({ train: 1200, test: 300, switch: true }), STEP_MS, 'demo server with a switch');
  const chromium = await Chromium.launch(STEP_MS).catch(async (error) => { await demo.close(); throw error; });
  try {
    const steps = 10;
    const url = `${demo.origin}/?size=2&steps=${steps}&eval=5&batch=16&backend=cpu&algo=ring&codec=bf16`;
    const tabs = [await chromium.openTab(url, STEP_MS), await chromium.openTab(url, STEP_MS)];
    const seated = await Promise.all(tabs.map((tab) => until(tab, (s) => s.rank >= 0, STEP_MS, 'a seat')));
    for (const tab of tabs) assert.equal(await algorithmOptions(tab), ['ring', 'tree', 'switch']);
    const leader = tabs[seated.findIndex((s) => s.rank === 0)]!;
    await until(leader, (s) => s.reports.length >= 2, RUN_MS, 'rank 0 training two steps');
    await leader.evaluate(`(() => { const s = document.getElementById('algorithm-choice'); s.value = 'switch'; s.dispatchEvent(new Event('change')); })()`, STEP_MS, 'algorithm select');
    const finals = await Promise.all(tabs.map((tab) => until(tab, (s) => s.done, RUN_MS, 'the run')));
    for (const state of finals) {
      assert.is(state.reports.length, steps, `rank ${state.rank} reported every step`);
      assert.is(state.reports[0]!.controls.algorithm, 'ring');
      assert.is(state.reports.at(-1)!.controls.algorithm, 'switch', `rank ${state.rank} followed rank 0 to the switch`);
    }
    const [a, b] = finals;
    assert.equal(a!.reports.map((r) => r.checksum), b!.reports.map((r) => r.checksum), 'both ranks hold the same weights after every step');
    const counters = demo.hostedSwitch!.counters();
    assert.ok(counters.webSocketMessages > 0 && counters.jobs.some((job) => job.packetsIn > 0), `the tabs' gradients went through the switch: ${JSON.stringify(counters)}`);
  } finally {
    await chromium.close();
    await demo.close();
  }
});

/** ms that 10 chained setTimeout(0) take in the tab: a few ms in front, about a second or more where timers are throttled. */
const timerChainMs = (tab: BrowserTab) => tab.evaluate<number>(
  'new Promise((done) => { const t0 = performance.now(); let n = 0; const tick = () => (++n === 10 ? done(performance.now() - t0) : setTimeout(tick, 0)); tick(); })',
  STEP_MS, 'timer chain',
);

test('a hidden tab keeps training (its worker is not throttled): rank 0\'s tab in the background, both finish every step with the same weights', async () => {
  const demo = await within(startDemo({ train: 1200, test: 300 }), STEP_MS, 'demo server');
  // Background tabs as a browser treats them: timers throttled, renderer backgrounded.
  const chromium = await Chromium.launch(STEP_MS, [], { throttleBackground: true }).catch(async (error) => { await demo.close(); throw error; });
  try {
    const steps = 10;
    const url = `${demo.origin}/?size=2&steps=${steps}&eval=4&batch=16&backend=cpu`;
    const tabs = [await chromium.openTab(url, STEP_MS), await chromium.openTab(url, STEP_MS)];
    const seated = await Promise.all(tabs.map((tab) => until(tab, (s) => s.rank >= 0, STEP_MS, 'a seat')));
    const hidden = tabs[seated.findIndex((s) => s.rank === 0)]!;
    const front = tabs.find((tab) => tab !== hidden)!;
    await chromium.bringToFront(front, STEP_MS);
    const visibility = () => Promise.all([hidden, front].map((tab) => tab.evaluate<string>('document.visibilityState', STEP_MS, 'visibility')));
    assert.equal(await visibility(), ['hidden', 'visible'], 'rank 0\'s tab is in the background');
    // The background is real: a main-thread loop of timers would crawl there.
    const [hiddenTimers, frontTimers] = [await timerChainMs(hidden), await timerChainMs(front)];
    assert.ok(hiddenTimers > 500 && hiddenTimers > 5 * frontTimers, `hidden tab timers throttled: 10 ticks took ${hiddenTimers.toFixed(0)} ms there, ${frontTimers.toFixed(0)} ms in front`);
    const finals = await Promise.all(tabs.map((tab) => until(tab, (s) => s.done, RUN_MS, 'the run')));
    assert.equal(await visibility(), ['hidden', 'visible'], 'still in the background at the end');
    for (const state of finals) assert.is(state.reports.length, steps, `rank ${state.rank} reported every step`);
    assert.equal(finals[0]!.reports.map((r) => r.checksum), finals[1]!.reports.map((r) => r.checksum), 'both ranks hold the same weights after every step');
    console.log(`# demo, hidden rank 0: ${steps} steps each; 10 chained timers took ${hiddenTimers.toFixed(0)} ms hidden, ${frontTimers.toFixed(0)} ms in front`);
  } finally {
    await chromium.close();
    await demo.close();
  }
});

test.run();
