// `webccl`: the package's command. `webccl serve [--host H] [--port P] [--secret-file F]` runs a
// standalone rendezvous server (store + browser relay) and prints the id to give every rank, a
// webccl+relay:// id: Node ranks given it join the browser tabs through the relay.
// The secret comes from --secret-file, else WEBCCL_SECRET, else is fresh and random; never
// derived from the address. `--secret S` still works but warns: any local user can read a
// process's arguments (ps, /proc/PID/cmdline), while its environment and a 0600 file are private.
import { readFileSync } from 'node:fs';
import { packageVersion, parseOptions, stringOption, type OptionSpecs, type ParsedOptions } from './cli.js';
import { checkSecret } from '../lib/rendezvous/address-secret.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { readSecurity } from '../lib/settings.js';
import { parseSwitchAddress } from '../lib/switch/control-protocol.js';
import { formatCounters, SwitchServer } from '../lib/switch/switch-server.js';
import { parseMulticastMode, type MulticastMode } from '../lib/switch/multicast.js';

const SERVE_USAGE = 'usage: webccl serve [--host HOST] [--port PORT] [--secret-file PATH] [--tls-cert PEM --tls-key PEM] [--switch [--switch-port PORT]]   (or WEBCCL_SECRET=32-HEX-DIGITS in the environment)';
const SWITCH_USAGE = 'usage: webccl switch [--host HOST] [--port PORT] [--slots N] [--max-workers N] [--secret-file PATH] [--ws-port PORT] [--stats] [--drop P] [--dup P] [--reorder P] [--data-plane native|js|auto] [--multicast auto|on|off] [--parent HOST:PORT [--parent-secret-file PATH]]';
const USAGE = [SERVE_USAGE, SWITCH_USAGE.replace('usage:', '      '), '       webccl --version'].join('\n');

/** Thrown for -h/--help and --version: print the text, exit 0. */
class Done extends Error {}

/** A subcommand's options, or Done for its -h/--help and --version. */
function subcommandOptions(args: string[], options: OptionSpecs, usage: string): ParsedOptions['values'] {
  let parsed;
  try {
    parsed = parseOptions(args, options);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${usage}`);
  }
  if (parsed.values.help) throw new Done(usage);
  if (parsed.values.version) throw new Done(packageVersion());
  return parsed.values;
}

interface ServeFlags { host?: string; port?: number; secretFile?: string; secret?: string; tlsCert?: string; tlsKey?: string; switchPort?: number }

/** A --port-like flag's value: an integer in [0, 65535]. */
function portOption(flag: string, value: string): number {
  const port = Number(value);
  if (value === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} ${value} is not a port number`);
  return port;
}

function parseServeFlags(args: string[]): ServeFlags {
  const given = subcommandOptions(args, {
    host: { type: 'string' }, port: { type: 'string' }, 'secret-file': { type: 'string' }, secret: { type: 'string' },
    'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, switch: { type: 'boolean' }, 'switch-port': { type: 'string' },
  }, SERVE_USAGE);
  const values = Object.fromEntries(['host', 'port', 'secret-file', 'secret', 'tls-cert', 'tls-key', 'switch-port'].map((name) => [name, stringOption(given, name)]));
  const flags: ServeFlags = {};
  if (values.host !== undefined) flags.host = values.host;
  if (values.port !== undefined) flags.port = portOption('--port', values.port);
  if (values['switch-port'] !== undefined && given['switch'] !== true) throw new Error('--switch-port goes with --switch');
  if (given['switch'] === true) flags.switchPort = values['switch-port'] === undefined ? 0 : portOption('--switch-port', values['switch-port']);
  if (values['secret-file'] !== undefined) flags.secretFile = values['secret-file'];
  if (values.secret !== undefined) flags.secret = values.secret;
  if (flags.secret !== undefined && flags.secretFile !== undefined) throw new Error('give --secret-file or --secret, not both');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new Error('--tls-cert and --tls-key go together');
  if (values['tls-cert'] !== undefined) flags.tlsCert = values['tls-cert'];
  if (values['tls-key'] !== undefined) flags.tlsKey = values['tls-key'];
  return flags;
}

/** A file holding the secret: 32 lowercase hex digits, optionally followed by one newline. */
function readSecretFile(path: string, flag = '--secret-file'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return checkSecret(text.replace(/\r?\n$/, ''), `the content of ${flag} ${path} (one trailing newline allowed)`);
}

function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** The secret to serve with, or undefined for a fresh random one. */
function chooseSecret(flags: ServeFlags): string | undefined {
  if (flags.secretFile !== undefined) return readSecretFile(flags.secretFile);
  if (flags.secret !== undefined) {
    console.error('webccl: warning: --secret is visible to every local user in the process list; use --secret-file PATH or WEBCCL_SECRET instead');
    return checkSecret(flags.secret, '--secret');
  }
  const given = readSecurity().secret;
  return given === undefined ? undefined : checkSecret(given, 'WEBCCL_SECRET');
}

async function serve(args: string[]): Promise<void> {
  const flags = parseServeFlags(args);
  const secret = chooseSecret(flags);
  const tls = flags.tlsCert === undefined || flags.tlsKey === undefined ? undefined
    : { cert: readPem('--tls-cert', flags.tlsCert), key: readPem('--tls-key', flags.tlsKey) };
  const server = await RendezvousServer.start({
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(flags.port === undefined ? {} : { port: flags.port }),
    ...(secret === undefined ? {} : { secret }),
    ...(tls === undefined ? {} : { tls }),
    ...(flags.switchPort === undefined ? {} : { switch: { port: flags.switchPort } }),
  });
  // A relay id: browser tabs can only use the relay, and Node ranks given this id join them there.
  const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'relay' });
  console.log(id);
  console.log([
    '# give this id to every rank (it carries the secret: hand it out like a password)',
    '#   browser tabs: Communicator.init({ id, rank, size }) from the browser entry',
    `#   Node ranks:   WEBCCL_ID=${id} RANK=<r> WORLD_SIZE=<n> node your-script.js   (Communicator.fromEnv())`,
    ...(server.hostedSwitch ? [
      `# switch ${server.hostedSwitch.address} (udp) and its websocket door on this server's port: ranks of this id`,
      "#   use algorithm: 'switch' (WEBCCL_ALGO=switch) with no switch address or secret of their own",
    ] : []),
  ].join('\n'));
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

interface SwitchFlags { host?: string; port?: number; wsPort?: number; slots?: number; maxWorkers?: number; secretFile?: string; stats: boolean; drop?: number; dup?: number; reorder?: number; parent?: string; parentSecretFile?: string; dataPlane?: 'native' | 'js' | 'auto'; multicast?: MulticastMode }

function parseSwitchFlags(args: string[]): SwitchFlags {
  const flags: SwitchFlags = { stats: false };
  const number = (flag: string, value: string, integer: boolean) => {
    const n = Number(value);
    if (value === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new Error(`${flag} ${value} is not ${integer ? 'an integer' : 'a number'}`);
    return n;
  };
  const text = { type: 'string' } as const;
  const given = subcommandOptions(args, {
    host: text, port: text, 'ws-port': text, slots: text, 'max-workers': text, 'secret-file': text, stats: { type: 'boolean' }, drop: text, dup: text, reorder: text, 'data-plane': text, multicast: text,
    parent: text, 'parent-secret-file': text,
  }, SWITCH_USAGE);
  const values = Object.fromEntries(['host', 'port', 'ws-port', 'slots', 'max-workers', 'secret-file', 'drop', 'dup', 'reorder', 'parent', 'parent-secret-file', 'data-plane', 'multicast'].map((n) => [n, stringOption(given, n)]));
  flags.stats = given['stats'] === true;
  if (values.host !== undefined) flags.host = values.host;
  if (values['secret-file'] !== undefined) flags.secretFile = values['secret-file'];
  if (values.port !== undefined) flags.port = number('--port', values.port, true);
  if (values['ws-port'] !== undefined) flags.wsPort = number('--ws-port', values['ws-port'], true);
  if (values.slots !== undefined) flags.slots = number('--slots', values.slots, true);
  if (values['max-workers'] !== undefined) flags.maxWorkers = number('--max-workers', values['max-workers'], true);
  if (values.drop !== undefined) flags.drop = number('--drop', values.drop, false);
  if (values.dup !== undefined) flags.dup = number('--dup', values.dup, false);
  if (values.reorder !== undefined) flags.reorder = number('--reorder', values.reorder, false);
  const plane = values['data-plane'];
  if (plane !== undefined && plane !== 'native' && plane !== 'js' && plane !== 'auto') throw new Error(`--data-plane ${plane} is not native, js or auto`);
  if (plane !== undefined) flags.dataPlane = plane;
  if (values.multicast !== undefined) flags.multicast = parseMulticastMode(values.multicast, '--multicast');
  if (values.parent !== undefined) flags.parent = values.parent;
  if (values['parent-secret-file'] !== undefined) {
    if (flags.parent === undefined) throw new Error('--parent-secret-file needs --parent HOST:PORT');
    flags.parentSecretFile = values['parent-secret-file'];
  }
  return flags;
}

/** The root's secret for a leaf (`--parent`): its own file, else the leaf's own secret. */
function parentSecret(flags: SwitchFlags, own: string | undefined): string {
  parseSwitchAddress(flags.parent!);
  if (flags.parentSecretFile !== undefined) return readSecretFile(flags.parentSecretFile, '--parent-secret-file');
  if (own === undefined) throw new Error('--parent needs the root switch\'s secret: --parent-secret-file PATH (or one secret for both: --secret-file PATH or WEBCCL_SECRET)');
  return own;
}

/** `webccl switch`: a software SwitchML switch until SIGINT/SIGTERM, then its counters. */
async function runSwitch(args: string[]): Promise<void> {
  const flags = parseSwitchFlags(args);
  const secret = chooseSecret({ ...(flags.secretFile === undefined ? {} : { secretFile: flags.secretFile }) });
  const faults = { ...(flags.drop === undefined ? {} : { drop: flags.drop }), ...(flags.dup === undefined ? {} : { dup: flags.dup }), ...(flags.reorder === undefined ? {} : { reorder: flags.reorder }) };
  const server = await SwitchServer.start({
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(flags.port === undefined ? {} : { port: flags.port }),
    ...(flags.wsPort === undefined ? {} : { webSocketPort: flags.wsPort }),
    ...(flags.slots === undefined ? {} : { slots: flags.slots }),
    ...(flags.maxWorkers === undefined ? {} : { maxWorkers: flags.maxWorkers }),
    ...(secret === undefined ? {} : { secret }),
    ...(flags.dataPlane === undefined ? {} : { dataPlane: flags.dataPlane }),
    ...(flags.multicast === undefined ? {} : { multicast: flags.multicast }),
    ...(flags.parent === undefined ? {} : { parent: { address: flags.parent, secret: parentSecret(flags, secret) } }),
    faults,
  });
  console.log(`switch ${server.address}${flags.parent === undefined ? '' : ` (leaf of ${flags.parent})`}`);
  if (server.webSocketUrl !== undefined) console.log(`websocket ${server.webSocketUrl}`);
  if (secret === undefined) console.log(`secret ${server.secret}`);
  console.log(`data plane ${server.dataPlane}`);
  const stats = flags.stats ? setInterval(() => console.error(formatCounters(server.counters())), 1000) : undefined;
  const stop = () => {
    clearInterval(stats);
    // Writing to a pipe is asynchronous: exit once the counters are out.
    void server.close().then(() => process.stdout.write(`${formatCounters(server.counters())}\n`, () => process.exit(0)));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'serve') await serve(rest);
  else if (command === 'switch') await runSwitch(rest);
  else if (command === '--version') console.log(packageVersion());
  else if (command === undefined || command === '-h' || command === '--help') console.log(USAGE);
  else {
    console.error(`webccl: unknown command ${command}\n${USAGE}`);
    process.exit(2);
  }
} catch (error) {
  if (error instanceof Done) {
    console.log(error.message);
    process.exit(0);
  }
  console.error(`webccl: ${(error as Error).message}`);
  process.exit(2);
}
