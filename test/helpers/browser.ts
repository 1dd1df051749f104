// Debian's chromium, headless, driven over CDP (see cdp.ts): launch with a throwaway profile,
// open tabs, evaluate in them, and always leave no process behind. WebGPU runs on Chromium's
// bundled SwiftShader (a Vulkan implementation on the CPU), so no GPU is needed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CdpClient, type CdpParams } from './cdp.js';
import { within } from '../within.js';

export const CHROMIUM = process.env['WEBCCL_CHROMIUM'] ?? '/usr/bin/chromium';

/** What lets a background tab's timers run at full rate; a test of background behaviour leaves them out. */
const UNTHROTTLED_FLAGS: readonly string[] = ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless=new', '--no-sandbox',
  // WebGPU is behind this flag on Linux; with it Chromium 150+ finds SwiftShader by itself. The
  // adapter is pinned so that a host Vulkan driver (lavapipe) never changes what is tested.
  '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader',
  '--disable-gpu-sandbox',
  // Tabs opened over CDP count as background tabs: their timers must not be throttled, or a rank
  // waiting on a timer would stall every other rank.
  ...UNTHROTTLED_FLAGS,
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--remote-debugging-port=0',
];

/** One page, attached over a flattened CDP session. */
export class BrowserTab {
  /** Console output and uncaught exceptions, for failure messages. */
  readonly log: string[] = [];

  /** Stops this tab's event listener (set by Chromium.openTab). */
  unlisten: () => void = () => {};

  constructor(private readonly cdp: CdpClient, readonly targetId: string, readonly sessionId: string) {}

  /** Evaluates `expression` in the page, awaiting a promise, and returns its value as JSON. */
  async evaluate<T>(expression: string, timeoutMs: number, what: string): Promise<T> {
    const reply = await this.cdp.send<{ result: { value?: T }; exceptionDetails?: { exception?: { description?: string }; text: string } }>(
      'Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, timeoutMs, this.sessionId,
    ).catch((error: Error) => { throw this.failure(what, error.message); });
    if (reply.exceptionDetails) {
      throw this.failure(what, reply.exceptionDetails.exception?.description ?? reply.exceptionDetails.text);
    }
    return reply.result.value as T;
  }

  close(timeoutMs: number): Promise<unknown> {
    this.unlisten();
    return this.cdp.send('Target.closeTarget', { targetId: this.targetId }, timeoutMs);
  }

  private failure(what: string, message: string): Error {
    const tail = this.log.slice(-10).map((line) => `\n    page: ${line}`).join('');
    return new Error(`${what}: ${message}${tail}`);
  }
}

export class Chromium {
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess, private readonly cdp: CdpClient, private readonly profile: string) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * Starts chromium and connects to its DevTools endpoint (printed on stderr). With
   * `throttleBackground` a background tab is treated as a browser treats one (its timers
   * throttled, its renderer backgrounded), as for a person who switched tabs.
   */
  static async launch(timeoutMs: number, extraFlags: readonly string[] = [], options: { throttleBackground?: boolean } = {}): Promise<Chromium> {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium (bash .ci/setup installs it)`);
    const profile = mkdtempSync(join(tmpdir(), 'webccl-chromium-'));
    const flags = options.throttleBackground ? CHROMIUM_FLAGS.filter((flag) => !UNTHROTTLED_FLAGS.includes(flag)) : CHROMIUM_FLAGS;
    const args = [...flags, ...extraFlags, `--user-data-dir=${profile}`, 'about:blank'];
    const child = spawn('/bin/sh', ['-c', WATCHDOG, CHROMIUM, ...args], { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    const backstop = () => killGroup(child);
    process.once('exit', backstop);
    child.once('exit', () => process.off('exit', backstop));
    try {
      const endpoint = await within(devToolsEndpoint(child), timeoutMs, 'chromium to print its DevTools endpoint');
      const cdp = await CdpClient.connect(endpoint, timeoutMs);
      return new Chromium(child, cdp, profile);
    } catch (error) {
      killGroup(child);
      rmSync(profile, { recursive: true, force: true });
      throw error;
    }
  }

  /** A new tab at `url`, resolved once its load event fired (module scripts have run by then). */
  async openTab(url: string, timeoutMs: number): Promise<BrowserTab> {
    const { targetId } = await this.cdp.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' }, timeoutMs);
    const { sessionId } = await this.cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true }, timeoutMs);
    const tab = new BrowserTab(this.cdp, targetId, sessionId);
    let loaded!: () => void;
    const load = new Promise<void>((resolve) => { loaded = resolve; });
    tab.unlisten = this.cdp.listen((method, params, session) => {
      if (session !== sessionId) return;
      if (method === 'Page.loadEventFired') loaded();
      else if (method === 'Runtime.consoleAPICalled') tab.log.push(consoleLine(params));
      else if (method === 'Runtime.exceptionThrown') tab.log.push(`uncaught: ${JSON.stringify(params['exceptionDetails'])}`);
    });
    await this.cdp.send('Page.enable', {}, timeoutMs, sessionId);
    await this.cdp.send('Runtime.enable', {}, timeoutMs, sessionId);
    const navigation = await this.cdp.send<{ errorText?: string }>('Page.navigate', { url }, timeoutMs, sessionId);
    if (navigation.errorText) throw new Error(`tab could not load ${url}: ${navigation.errorText}`);
    await within(load, timeoutMs, `load of ${url}`);
    return tab;
  }

  /** Makes `tab` the window's active tab: the others become hidden (document.visibilityState). */
  async bringToFront(tab: BrowserTab, timeoutMs: number): Promise<void> {
    await this.cdp.send('Page.bringToFront', {}, timeoutMs, tab.sessionId);
  }

  /** A PNG of the tab's viewport (brought to the front first: a background tab never paints). */
  async screenshot(tab: BrowserTab, timeoutMs: number): Promise<Buffer> {
    await this.bringToFront(tab, timeoutMs);
    const { data } = await this.cdp.send<{ data: string }>('Page.captureScreenshot', { format: 'png' }, timeoutMs, tab.sessionId);
    return Buffer.from(data, 'base64');
  }

  /** Asks chromium to quit, then has the watchdog kill whatever is left, and deletes the profile. */
  async close(): Promise<void> {
    await this.cdp.send('Browser.close', {}, 2000).catch(() => {});
    this.cdp.close();
    this.child.stdin!.end();
    await within(this.exited, 3000, 'chromium to exit').catch(() => {});
    killGroup(this.child);
    await within(groupGone(this.child), 3000, "chromium's processes to die").catch(() => {});
    rmSync(this.profile, { recursive: true, force: true });
  }
}

// Chromium runs under a shell in a process group of its own, so that one kill takes the zygote,
// GPU process and renderers too. The shell kills that group when chromium exits (reporting how,
// for launch failures) and when its stdin closes: on close(), and also when this process dies
// without running any handler (SIGKILL from the suite runner's time budget), which is what keeps
// a crashed test from leaving a headless browser behind.
const WATCHDOG = '{ "$0" "$@"; echo "chromium exited with status $?" >&2; kill -s KILL 0; } & read _; kill -s KILL 0';

function killGroup(child: ChildProcess): void {
  // The group outlives its leader when children linger: kill it whether or not the leader exited.
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Resolves once no process of the child's group is left (the leader may go first). */
async function groupGone(child: ChildProcess): Promise<void> {
  for (;;) {
    try {
      process.kill(-child.pid!, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function devToolsEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000); // chromium keeps logging: keep draining, keep the tail
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('error', (error) => reject(new Error(`cannot start ${CHROMIUM}: ${error.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`chromium exited (${signal ?? code}) before DevTools listened:\n${stderr.slice(-2000)}`)));
  });
}

function consoleLine(params: CdpParams): string {
  const args = (params['args'] as { value?: unknown; description?: string }[] | undefined) ?? [];
  return `${String(params['type'])}: ${args.map((a) => a.description ?? JSON.stringify(a.value)).join(' ')}`;
}
