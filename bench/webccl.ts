// `webccl`: the package's command. `webccl serve [--host H] [--port P] [--secret S]` runs a
// standalone rendezvous server (store + browser relay) and prints the id to give every rank.
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';

const USAGE = 'usage: webccl serve [--host HOST] [--port PORT] [--secret 32-HEX-DIGITS]';

function parseServeFlags(args: string[]): { host?: string; port?: number; secret?: string } {
  const flags: { host?: string; port?: number; secret?: string } = {};
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === '--host') flags.host = value;
    else if (flag === '--port') {
      flags.port = Number(value);
      if (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535) throw new Error(`--port ${value} is not a port number`);
    } else if (flag === '--secret') {
      if (!/^[0-9a-f]{32}$/.test(value)) throw new Error('--secret must be 32 lowercase hex digits');
      flags.secret = value;
    } else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  return flags;
}

async function serve(args: string[]): Promise<void> {
  const server = await RendezvousServer.start(parseServeFlags(args));
  console.log(server.id);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'serve') await serve(rest);
  else {
    console.error(USAGE);
    process.exit(command === undefined || command === '--help' ? 0 : 2);
  }
} catch (error) {
  console.error(`webccl: ${(error as Error).message}`);
  process.exit(2);
}
