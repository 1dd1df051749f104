// webccl-perf with the switch algorithm: local runs (in-process ranks, or --np ranks this
// command launches) get a software switch started here, unless --switch names one; launched
// ranks learn its address and secret from WEBCCL_SWITCH / WEBCCL_SWITCH_SECRET. With
// --switch-via websocket it opens its WebSocket door too, and the ranks join through it. Its
// counters are printed after the table (as '#' lines, which nccl-tests' parsers skip), for
// the whole run.
import { formatCounters, SwitchServer } from '../../lib/switch/switch-server.js';
import type { PerfOptions } from './args.js';

/** The line above the counters: what they cover (a run with a JIT warm-up has calls that are not timed). */
export function countersHeading(jitWarmup: number): string {
  return `# switch counters over the whole run${jitWarmup > 0 ? ', the JIT warm-up\'s calls included (--jit-warmup 0 leaves them out)' : ''}:`;
}

export interface PerfSwitch {
  /** What the ranks are given: init options, and the environment of launched ranks. */
  readonly init: { readonly switch: string; readonly switchSecret?: string };
  readonly env: Readonly<Record<string, string>>;
  /** The lines printed after the table. */
  report(): string;
  close(): Promise<void>;
}

/** The switch this run uses, if its algorithm may use one; undefined for a rank someone else launched. */
export async function perfSwitch(options: PerfOptions): Promise<PerfSwitch | undefined> {
  if (options.switch !== undefined) {
    return {
      init: { switch: options.switch }, env: { WEBCCL_SWITCH: options.switch },
      report: () => `# switch ${options.switch}: not in this process; \`webccl switch --stats\` prints its counters`,
      close: async () => undefined,
    };
  }
  if (options.algorithm !== 'switch' || process.env['RANK'] !== undefined) return undefined;
  const door = options.switchVia === 'websocket';
  const server = await SwitchServer.start({ port: 0, ...(door ? { webSocketPort: 0 } : {}) });
  const address = door ? `${server.address},${server.webSocketUrl!}` : server.address;
  return {
    init: { switch: address, switchSecret: server.secret },
    env: { WEBCCL_SWITCH: address, WEBCCL_SWITCH_SECRET: server.secret },
    // The switch serves every call of the run, the untimed ones (--jit-warmup, -w) included.
    report: () => [countersHeading(options.jitWarmup), ...formatCounters(server.counters()).split('\n').map((line) => `# ${line}`)].join('\n'),
    close: () => server.close(),
  };
}
