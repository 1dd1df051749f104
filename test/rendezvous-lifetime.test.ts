// How long a rendezvous server hosted by this process lives: getUniqueId's closes when the last
// communicator of this process that joined through the id is destroyed (split communicators
// share it), and one no local rank joins (a launcher's) keeps serving; rank 0's under MASTER_ADDR
// and MASTER_PORT serves as long as the process does (unreferenced), so that the world can form
// again there (comm-reinit.test.ts), and exit-after-destroy.test.ts shows it holds no process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import '../lib/index.node.js';
import { parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { findFreePort } from '../bin/launch/launch.js';
import { within } from './within.js';

const saved = { ...process.env };
test.after.each(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

/** Whether something accepts tcp connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return within(new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  }), 3000, `probe of port ${port}`);
}

/** Polls until the port refuses connections (closing is asynchronous), for at most 3 s. */
async function refusesSoon(port: number): Promise<boolean> {
  for (let i = 0; i < 30; i++) {
    if (!(await accepts(port))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

for (const transport of ['websocket', 'tcp'] as const) {
  test(`${transport}: rank 0's MASTER_PORT rendezvous outlives its communicators, and the next world at that port joins it`, async () => {
    const port = await findFreePort('127.0.0.1');
    Object.assign(process.env, { MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), WORLD_SIZE: '2', WEBCCL_TRANSPORT: transport });
    delete process.env['WEBCCL_ID'];
    const world = await within(Promise.all([0, 1].map((rank) => Communicator.fromEnv({ rank, timeoutMs: 10_000 }))), 10_000, 'init');
    const halves = await within(Promise.all(world.map((comm) => comm.split(0))), 5000, 'split');
    await within(Promise.all([...world, ...halves].map((comm) => comm!.destroy())), 5000, 'destroy');
    assert.ok(await accepts(port), 'the rendezvous closed with the communicators');
    // Rank 0 forms the next world on the same server (a second one could not listen on the port).
    const again = await within(Promise.all([0, 1].map((rank) => Communicator.fromEnv({ rank, timeoutMs: 10_000 }))), 10_000, 'init again');
    const sum = new Float32Array([1]);
    await within(Promise.all(again.map((comm) => comm.allReduce(sum, sum, 1, 'float32', 'sum'))), 5000, 'allReduce');
    await within(Promise.all(again.map((comm) => comm.destroy())), 5000, 'destroy again');
  });
}

test("getUniqueId's server closes when the communicators created from its id are destroyed", async () => {
  const id = await getUniqueId({ transport: 'websocket', host: '127.0.0.1' });
  const { port } = parseUniqueId(id);
  const comms = await within(Promise.all([0, 1].map((rank) => Communicator.init({ id, rank, size: 2, timeoutMs: 10_000 }))), 10_000, 'init');
  await within(comms[0]!.destroy(), 5000, 'destroy rank 0');
  assert.ok(await accepts(port), 'the rendezvous closed while rank 1 still used it');
  await within(comms[1]!.destroy(), 5000, 'destroy rank 1');
  assert.ok(await refusesSoon(port), `port ${port} still accepts connections after every communicator was destroyed`);
});

test("getUniqueId's server keeps serving while no rank of this process joined (a launcher's)", async () => {
  const id = await getUniqueId({ transport: 'websocket', host: '127.0.0.1' });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(await accepts(parseUniqueId(id).port));
});

test.run();
