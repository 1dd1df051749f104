// `webccl`: the package's command. `webccl serve [--host H] [--port P] [--secret-file F]` runs a
// standalone rendezvous server (store + browser relay) and prints the id to give every rank.
// The secret comes from --secret-file, else WEBCCL_SECRET, else is fresh and random; never
// derived from the address. `--secret S` still works but warns: any local user can read a
// process's arguments (ps, /proc/PID/cmdline), while its environment and a 0600 file are private.
import { readFileSync } from 'node:fs';
import { checkSecret } from '../lib/rendezvous/address-secret.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { readSecurity } from '../lib/settings.js';
import { formatCounters, SwitchServer } from '../lib/switch/switch-server.js';

const USAGE = [
  'usage: webccl serve [--host HOST] [--port PORT] [--secret-file PATH]   (or WEBCCL_SECRET=32-HEX-DIGITS in the environment)',
  '       webccl switch [--host HOST] [--port PORT] [--slots N] [--max-workers N] [--secret-file PATH] [--stats] [--drop P] [--dup P] [--reorder P]',
].join('\n');

interface ServeFlags { host?: string; port?: number; secretFile?: string; secret?: string }

function parseServeFlags(args: string[]): ServeFlags {
  const flags: ServeFlags = {};
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === '--host') flags.host = value;
    else if (flag === '--port') {
      flags.port = Number(value);
      if (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535) throw new Error(`--port ${value} is not a port number`);
    } else if (flag === '--secret-file') flags.secretFile = value;
    else if (flag === '--secret') flags.secret = value;
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  if (flags.secret !== undefined && flags.secretFile !== undefined) throw new Error('give --secret-file or --secret, not both');
  return flags;
}

/** A file holding the secret: 32 lowercase hex digits, optionally followed by one newline. */
function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`--secret-file ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return checkSecret(text.replace(/\r?\n$/, ''), `the content of --secret-file ${path} (one trailing newline allowed)`);
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
  const server = await RendezvousServer.start({
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(flags.port === undefined ? {} : { port: flags.port }),
    ...(secret === undefined ? {} : { secret }),
  });
  console.log(server.id);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

interface SwitchFlags { host?: string; port?: number; slots?: number; maxWorkers?: number; secretFile?: string; stats: boolean; drop?: number; dup?: number; reorder?: number }

function parseSwitchFlags(args: string[]): SwitchFlags {
  const flags: SwitchFlags = { stats: false };
  const number = (flag: string, value: string, integer: boolean) => {
    const n = Number(value);
    if (value === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new Error(`${flag} ${value} is not ${integer ? 'an integer' : 'a number'}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === '--stats') { flags.stats = true; continue; }
    const value = args[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === '--host') flags.host = value;
    else if (flag === '--port') flags.port = number(flag, value, true);
    else if (flag === '--slots') flags.slots = number(flag, value, true);
    else if (flag === '--max-workers') flags.maxWorkers = number(flag, value, true);
    else if (flag === '--secret-file') flags.secretFile = value;
    else if (flag === '--drop') flags.drop = number(flag, value, false);
    else if (flag === '--dup') flags.dup = number(flag, value, false);
    else if (flag === '--reorder') flags.reorder = number(flag, value, false);
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  return flags;
}

/** `webccl switch`: a software SwitchML switch until SIGINT/SIGTERM, then its counters. */
async function runSwitch(args: string[]): Promise<void> {
  const flags = parseSwitchFlags(args);
  const secret = chooseSecret({ ...(flags.secretFile === undefined ? {} : { secretFile: flags.secretFile }) });
  const faults = { ...(flags.drop === undefined ? {} : { drop: flags.drop }), ...(flags.dup === undefined ? {} : { dup: flags.dup }), ...(flags.reorder === undefined ? {} : { reorder: flags.reorder }) };
  const server = await SwitchServer.start({
    ...(flags.host === undefined ? {} : { host: flags.host }),
    ...(flags.port === undefined ? {} : { port: flags.port }),
    ...(flags.slots === undefined ? {} : { slots: flags.slots }),
    ...(flags.maxWorkers === undefined ? {} : { maxWorkers: flags.maxWorkers }),
    ...(secret === undefined ? {} : { secret }),
    faults,
  });
  console.log(`switch ${server.address}`);
  if (secret === undefined) console.log(`secret ${server.secret}`);
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
  else {
    console.error(USAGE);
    process.exit(command === undefined || command === '--help' ? 0 : 2);
  }
} catch (error) {
  console.error(`webccl: ${(error as Error).message}`);
  process.exit(2);
}
