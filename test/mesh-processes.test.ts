// Both meshes (websocket and raw tcp) across separate Node processes: a full exchange, and a
// rank killed with SIGKILL.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId, type MeshTransport } from '../lib/rendezvous/unique-id.js';
import { within } from './within.js';

interface Report { rank: number; event: string; [field: string]: unknown }

interface Rank {
  readonly child: ChildProcess;
  readonly reports: Report[];
  readonly exited: Promise<number | null>;
  next(event: string): Promise<Report>;
}

const server = await RendezvousServer.start();
const children: ChildProcess[] = [];

function startRank(transport: MeshTransport, rank: number, size: number, world: string, mode: string): Rank {
  const id = formatUniqueId({ ...parseUniqueId(server.id), transport });
  const child = spawn(process.execPath, ['--import', './test/register.mjs', 'test/workers/mesh-rank.ts', id, String(rank), String(size), world, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const reports: Report[] = [];
  const listeners: (() => void)[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) reports.push(JSON.parse(line) as Report);
    listeners.splice(0).forEach((wake) => wake());
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const next = (event: string) => new Promise<Report>((resolve) => {
    const look = () => {
      const found = reports.find((r) => r.event === event);
      if (found) resolve(found);
      else listeners.push(look);
    };
    look();
  });
  return { child, reports, exited, next };
}

for (const transport of ['websocket', 'tcp'] as const) {
  test(`${transport}: 4 ranks in 4 processes exchange with every peer and exit cleanly`, async () => {
    const ranks = [0, 1, 2, 3].map((rank) => startRank(transport, rank, 4, `procs-${transport}`, 'exchange'));
    const codes = await within(Promise.all(ranks.map((r) => r.exited)), 30_000, 'ranks exit');
    assert.equal(codes, [0, 0, 0, 0]);
    for (const r of ranks) assert.match(String(r.reports.find((x) => x.event === 'exchanged')?.['description']), transport === 'tcp' ? /^tcp$/ : /^websocket$/);
  });

  test(`${transport}: a killed rank makes the survivors reject promptly and exit`, async () => {
    const ranks = [0, 1, 2].map((rank) => startRank(transport, rank, 3, `victim-${transport}`, 'await-victim'));
    await within(Promise.all(ranks.map((r) => r.next('ready'))), 30_000, 'ranks ready');
    ranks[2]!.child.kill('SIGKILL');
    const rejections = await within(Promise.all([0, 1].map((rank) => ranks[rank]!.next('rejected'))), 5_000, 'survivors reject');
    for (const r of rejections) {
      assert.match(String(r['message']), new RegExp(`^SystemError: rank ${r.rank}: connection to peer 2 lost`));
      assert.ok(Number(r['afterMs']) < 5_000);
    }
    assert.equal(await within(Promise.all([0, 1].map((rank) => ranks[rank]!.exited)), 5_000, 'survivors exit'), [0, 0]);
  });
}

test.after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await server.close();
});
test.run();
