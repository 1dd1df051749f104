// The communicator's switch algorithm through the switch's WebSocket door: a world that mixes
// a UDP rank with WebSocket ranks (switchVia), and a world given only the door's ws:// URL, end
// with the same bits as the UDP-only world on the same inputs (int32 exact, float32 within the
// SwitchML bound). A rendezvous server that hosts a switch (`webccl serve --switch`) tells its
// relay worlds where it is, so `algorithm: 'switch'` needs neither address nor secret.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator and the relay world
import { Communicator, getUniqueId, type InitOptions } from '../lib/comm/communicator.js';
import type { ElementArray } from '../lib/dtype.js';
import { WebcclError } from '../lib/errors.js';
import { RendezvousServer } from '../lib/rendezvous/rendezvous-server.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { CLOSE_BAD_HELLO, CLOSE_WRONG_SECRET } from '../lib/transport/handshake/handshake.js';
import { WebSocket } from 'ws';
import { destroyWorld, oracleReduce, sameElements } from './helpers/comm-world.js';
import { agreedPacketValues, float32Violation, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { rejection, within } from './within.js';

const server = await SwitchServer.start({ port: 0, webSocketPort: 0 });
const both = `${server.address},${server.webSocketUrl!}`;
const SIZE = 3;
const COUNTS = [1, 1001, 40_000];

type PerRank = (rank: number) => Partial<InitOptions>;

async function world(options: Partial<InitOptions>, perRank: PerRank = () => ({}), transport: 'inproc' | 'tcp' = 'inproc'): Promise<Communicator[]> {
  const id = await getUniqueId({ transport });
  return within(Promise.all(Array.from({ length: SIZE }, (_, rank) => Communicator.init({
    algorithm: 'switch', switchSecret: server.secret, chunkBytes: 16 * 1024, timeoutMs: 30_000, ...options, ...perRank(rank), id, rank, size: SIZE,
  }))), 30_000, `${SIZE} ranks`);
}

/** Every rank's int32 and float32 sums for each count, checked against the oracle and the bound. */
async function sums(comms: readonly Communicator[]): Promise<ElementArray[]> {
  const results: ElementArray[] = [];
  for (const count of COUNTS) {
    const ints = comms.map((_, r) => randomInt32(count, 13 * r + count));
    const floats = comms.map((_, r) => randomFloat32(count, 5 * r + count + 1));
    const intOut = comms.map(() => new Int32Array(count));
    const floatOut = comms.map(() => new Float32Array(count));
    await within(Promise.all(comms.map((c, r) => c.allReduce(ints[r]!, intOut[r]!, count, 'int32', 'sum'))), 30_000, `int32 ${count}`);
    await within(Promise.all(comms.map((c, r) => c.allReduce(floats[r]!, floatOut[r]!, count, 'float32', 'sum'))), 30_000, `float32 ${count}`);
    for (const out of intOut) sameElements(out, oracleReduce(ints, count, 'int32', 'sum'), `int32 ${count}`);
    for (const out of floatOut) {
      sameElements(out, floatOut[0]!, `float32 ${count}: the same bits on every rank`);
      assert.is(float32Violation(floats, out, agreedPacketValues(comms[0]!)), undefined, `float32 ${count}`);
    }
    results.push(intOut[0]!, floatOut[0]!);
  }
  return results;
}

async function run(options: Partial<InitOptions>, perRank?: PerRank, transport?: 'inproc' | 'tcp'): Promise<ElementArray[]> {
  const comms = await world(options, perRank, transport);
  try {
    return await sums(comms);
  } finally {
    await destroyWorld(comms);
  }
}

function sameAs(got: ElementArray[], want: ElementArray[], label: string): void {
  assert.is(got.length, want.length);
  got.forEach((g, i) => sameElements(g, want[i]!, `${label}: result ${i}`));
}

let udpOnly: ElementArray[] | undefined;
const udpBaseline = async () => (udpOnly ??= await run({ switch: server.address }));

test('rank 0 by UDP, ranks 1-2 through the WebSocket door (switchVia): the same bits as the UDP-only world', async () => {
  const want = await udpBaseline();
  const messagesBefore = server.counters().webSocketMessages;
  const got = await run({ switch: both }, (rank) => (rank === 0 ? {} : { switchVia: 'websocket' }), 'tcp');
  sameAs(got, want, 'mixed');
  assert.ok(server.counters().webSocketMessages > messagesBefore, 'packets came through the door');
});

test('only the door\'s ws:// URL: every Node rank takes the WebSocket, the same bits as the UDP-only world', async () => {
  const want = await udpBaseline();
  const datagramsBefore = server.counters().datagrams;
  const got = await run({ switch: server.webSocketUrl! });
  sameAs(got, want, 'websocket only');
  assert.is(server.counters().datagrams, datagramsBefore, 'no datagram reached the switch');
});

test('a rank asking for UDP when the address has only the door fails its call with InvalidArgument naming both', async () => {
  const comms = await world({ switch: server.webSocketUrl! }, (rank) => (rank === 1 ? { switchVia: 'udp' } : {}));
  try {
    const calls = comms.map((c) => c.allReduce(new Int32Array(10), new Int32Array(10), 10, 'int32', 'sum'));
    const error = await rejection(calls[1]!, 10_000, 'rank 1');
    assert.instance(error, WebcclError);
    assert.is((error as WebcclError).code, 'InvalidArgument');
    assert.match(error.message, /no host:port to reach it by UDP/);
    for (const call of calls) call.catch(() => undefined);
  } finally {
    await Promise.all(comms.map((c) => c.abort().catch(() => undefined)));
    await destroyWorld(comms).catch(() => undefined);
  }
});

test('bad addresses and paths are refused at init, naming them', async () => {
  const id = await getUniqueId({ transport: 'inproc' });
  for (const [options, pattern] of [
    [{ switch: 'ws://a:1,ws://b:2' }, /names two WebSocket doors/],
    [{ switch: 'a:1,b:2' }, /names two host:port/],
    [{ switch: 'nonsense' }, /is not host:port/],
    [{ switch: server.address, switchVia: 'carrier-pigeon' }, /switchVia 'carrier-pigeon' is not 'udp' or 'websocket'/],
  ] as const) {
    const error = await rejection(Communicator.init({ id, rank: 0, size: 1, ...options } as InitOptions), 5000, JSON.stringify(options));
    assert.is((error as WebcclError).code, 'InvalidArgument', error.message);
    assert.match(error.message, pattern);
  }
  process.env['WEBCCL_SWITCH_VIA'] = 'smoke-signals';
  try {
    const error = await rejection(Communicator.init({ id: await getUniqueId({ transport: 'inproc' }), rank: 0, size: 1, switch: server.address }), 5000, 'WEBCCL_SWITCH_VIA');
    assert.is((error as WebcclError).code, 'InvalidArgument', error.message);
    assert.match(error.message, /WEBCCL_SWITCH_VIA=smoke-signals is not 'udp' or 'websocket'/);
  } finally {
    delete process.env['WEBCCL_SWITCH_VIA'];
  }
});

test('a rendezvous server hosting a switch: relay ranks use algorithm switch with no address or secret, UDP and door mixed', async () => {
  const want = await udpBaseline();
  const rendezvous = await RendezvousServer.start({ switch: {} });
  const hosted = rendezvous.hostedSwitch!;
  try {
    const id = formatUniqueId({ ...parseUniqueId(rendezvous.id), transport: 'relay' });
    const comms = await within(Promise.all(Array.from({ length: SIZE }, (_, rank) => Communicator.init({
      id, rank, size: SIZE, algorithm: 'switch', chunkBytes: 16 * 1024, timeoutMs: 30_000, ...(rank === 2 ? { switchVia: 'websocket' as const } : {}),
    }))), 30_000, 'relay world');
    try {
      assert.is(comms[0]!.config.switch, `${hosted.address},ws://${rendezvous.host}:${rendezvous.port}/`);
      sameAs(await sums(comms), want, 'hosted');
    } finally {
      await destroyWorld(comms);
    }
    const counters = hosted.counters();
    assert.ok(counters.datagrams > 0 && counters.webSocketMessages > 0, `both paths used: ${JSON.stringify(counters)}`);
    // auto with the addon built: the door the rendezvous server admits feeds the native plane's receive().
    assert.is(counters.dataPlane, 'native', 'the hosted switch runs the native data plane');
  } finally {
    await rendezvous.close();
  }
});

/** The close code and reason a rendezvous server answers `hello` with. */
function refusalOf(url: string, hello: Record<string, unknown>): Promise<{ code: number; reason: string }> {
  const socket = new WebSocket(url);
  socket.on('error', () => undefined);
  socket.on('open', () => socket.send(JSON.stringify(hello)));
  return within(new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))), 10_000, 'the refusal');
}

test('the hosted door refuses a switch join with the wrong secret or without via websocket; a server hosting no switch refuses the role', async () => {
  const join = { t: 'hello', role: 'switch', world: 'w', rank: 0, size: 2, window: 256, sizeClass: 1, via: 'websocket' };
  const hosting = await RendezvousServer.start({ switch: {} });
  const plain = await RendezvousServer.start();
  try {
    const url = `ws://${hosting.host}:${hosting.port}/`;
    const { secret } = parseUniqueId(hosting.id);
    assert.equal(await refusalOf(url, { ...join, secret: 'f'.repeat(32) }), { code: CLOSE_WRONG_SECRET, reason: 'wrong secret from a caller claiming rank 0' });
    const udp = await refusalOf(url, { ...join, secret, via: 'udp', udpPort: 9 });
    assert.is(udp.code, CLOSE_BAD_HELLO);
    assert.match(udp.reason, /says via: 'websocket'/);
    const unserved = await refusalOf(`ws://${plain.host}:${plain.port}/`, { ...join, secret: parseUniqueId(plain.id).secret });
    assert.equal(unserved, { code: CLOSE_BAD_HELLO, reason: "role 'switch' is not served here" });
    assert.is(hosting.hostedSwitch!.counters().refusedConnections, 1, 'the switch counted the join it refused');
  } finally {
    await Promise.all([hosting.close(), plain.close()]);
  }
});

test.after(async () => {
  await server.close();
});

test.run();
