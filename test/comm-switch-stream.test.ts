// How the switch algorithm cuts a call into packet streams (lib/collectives/aggregator-allreduce.ts):
// one aggregator call, so one stream, for a call of up to 32 windows of packets however many
// link chunks it spans, equal pieces of whole packets beyond; the same cut on every rank
// whatever its memory (one rank's GPU buffer, another's TypedArray). Counted at a real
// SwitchServer: an int32 stream sends chunks packets, a float32 stream chunks + min(W, chunks)
// (SwitchML's exponent lead), which the communicator's flat float32 calls below 8 ranks do not send (their
// exponents are agreed over the link first, lib/comm/switch-float.ts); the host-local leaders'
// still do. The traffic formula counts the flat streams. A small window (64) and 512-value
// packets make 4 MiB span 32 windows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator
import { aggregatorPieces, MAX_PIECE_WINDOWS } from '../lib/collectives/aggregator-allreduce.js';
import { switchAllReduceTraffic } from '../lib/collectives/switch-allreduce.js';
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import type { DataType, ElementArray } from '../lib/dtype.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import type { AggregatorPackets } from '../lib/memory/aggregator.js';
import { AllReduceStream, streamPackets } from '../lib/switch/allreduce-stream.js';
import { setSwitchWorkerExtras } from '../lib/switch/switch-aggregator.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { createWorld, destroyWorld, oracleReduce, sameElements, type WorldOptions } from './helpers/comm-world.js';
import { device } from './helpers/gpu.js';
import { float32Violation, randomFloat32, randomInt32 } from './helpers/switch-job.js';
import { allReduceAll } from './helpers/switch-world.js';
import { within } from './within.js';

const server = await SwitchServer.start({ port: 0 });
const WINDOW = 64;
const VALUES = 512;
const PACKETS: AggregatorPackets = { values: VALUES, window: WINDOW };
/** Elements of the largest single stream at this window and packet size. */
const MOST = MAX_PIECE_WINDOWS * WINDOW * VALUES;
setSwitchWorkerExtras({ window: WINDOW });

/** Packets the switch took in once (retransmitted and stale ones left out). */
function firstPackets(): number {
  return server.counters().jobs.reduce((sum, job) => sum + job.packetsIn - job.retransmissions - job.stale, 0);
}

/** What one worker sends for a call of `count` elements: the streams of its pieces. */
function expectedPackets(count: number, float: boolean): number {
  return aggregatorPieces(count, PACKETS).reduce((sum, piece) => sum + streamPackets(piece.length, VALUES, WINDOW, float), 0);
}

test('pieces: none for 0, one up to 32 windows, equal pieces of whole packets beyond; streamPackets is the stream\'s own count', () => {
  assert.equal(aggregatorPieces(0, PACKETS), []);
  assert.equal(aggregatorPieces(7, undefined), [{ offset: 0, length: 7 }], 'an aggregator without packets: the whole call');
  for (const count of [1, 1001, MOST - 1, MOST]) assert.equal(aggregatorPieces(count, PACKETS), [{ offset: 0, length: count }], `${count}`);
  for (const count of [MOST + 1, 3 * MOST + 12_345, 10 * MOST]) {
    const pieces = aggregatorPieces(count, PACKETS);
    assert.is(pieces.length, Math.ceil(count / MOST), `${count}: as few pieces as the bound allows`);
    assert.is(pieces.reduce((sum, p) => sum + p.length, 0), count);
    for (const [i, piece] of pieces.entries()) {
      if (i > 0) assert.is(piece.offset, pieces[i - 1]!.offset + pieces[i - 1]!.length, 'contiguous');
      if (i < pieces.length - 1) assert.is(piece.length % VALUES, 0, 'whole packets, so the float32 blocks line up');
      assert.ok(piece.length <= MOST && piece.length >= MOST / 2 - VALUES * pieces.length, `${count}: piece ${i} of ${piece.length}`);
    }
  }
  const job = { job: 1, workers: 2, slotBase: 0, window: WINDOW, sizeClass: 4 };
  for (const count of [1, VALUES, VALUES + 1, 20 * VALUES, 300 * VALUES + 7]) {
    assert.is(streamPackets(count, VALUES, WINDOW, true), new AllReduceStream(job, new Float32Array(count), 'sum', 0).packets, `float32 ${count}`);
    assert.is(streamPackets(count, VALUES, WINDOW, false), new AllReduceStream(job, new Int32Array(count), 'sum', 0).packets, `int32 ${count}`);
  }
});

test('the traffic formula counts the streams\' packets at the agreed size: 16 MiB at 2048 values is 2048, 256 MiB four such streams', () => {
  const call = { ranks: 4, chunkBytes: 1 << 20, switchPacketValues: 2048 };
  assert.is(switchAllReduceTraffic({ ...call, bytes: 16 << 20 }).packets, 2048);
  assert.is(switchAllReduceTraffic({ ...call, bytes: 256 << 20 }).packets, 4 * 8192);
  assert.is(switchAllReduceTraffic({ ...call, bytes: 8, switchPacketValues: 64 }).packets, 1);
  assert.is(switchAllReduceTraffic({ ...call, bytes: 16 << 10 }).packets, 2);
  assert.is(switchAllReduceTraffic({ ranks: 4, chunkBytes: 1 << 20, bytes: 16 << 10 }).packets, 1, 'without a packet size: 4096 values (loopback)');
  assert.equal([switchAllReduceTraffic({ ...call, bytes: 4096 }).messages, switchAllReduceTraffic({ ...call, bytes: 4096 }).sends], [3, 4], 'the round trip and the exponents\' exchange');
});

function switchWorld(size: number, extra: WorldOptions = {}): Promise<Communicator[]> {
  return within(createWorld(size, {
    switch: server.address, switchSecret: server.secret, algorithm: 'switch', switchPacketValues: VALUES, chunkBytes: 16 * 1024, timeoutMs: 60_000, ...extra,
  }), 30_000, `${size} ranks`);
}

/**
 * Runs every rank's allReduce and checks the packets the switch took in: `workers` times one
 * worker's streams, with the exponent lead where the streams agree float32 exponents themselves.
 */
async function counted(comms: readonly Communicator[], inputs: readonly ElementArray[], dtype: DataType, workers: number, streamAgrees = false): Promise<ElementArray[]> {
  const before = firstPackets();
  const out = await allReduceAll(comms, inputs, dtype, 'sum');
  const count = inputs[0]!.length;
  assert.is(firstPackets() - before, workers * expectedPackets(count, streamAgrees && dtype === 'float32'), `${dtype} ${count}: packets at the switch`);
  return out;
}

// The link's chunks are 16 KiB (4096 elements): 100,000 floats span 25.
const COUNTS = [0, 1, 1001, 100_000, (4 << 20) / 4 + 3];

test('flat, 2 ranks, host memory: one stream per call up to 32 windows (not one per 16 KiB chunk), int32 exact, float32 within the bound', async () => {
  const comms = await switchWorld(2);
  try {
    // 100,000 floats are 25 link chunks: one stream of 196 packets, not 25 of 8 (+ 8 exponent-only); 4 MiB and 3 floats are two streams.
    assert.is(expectedPackets(100_000, false), 196);
    assert.is(aggregatorPieces(COUNTS.at(-1)!, PACKETS).length, 2);
    for (const count of COUNTS) {
      const ints = comms.map((_, r) => randomInt32(count, r + count + 5));
      for (const out of await counted(comms, ints, 'int32', 2)) sameElements(out, oracleReduce(ints, count, 'int32', 'sum'), `int32 ${count}`);
      const floats = comms.map((_, r) => randomFloat32(count, r + count + 9));
      const out = await counted(comms, floats, 'float32', 2);
      for (const [r, o] of out.entries()) sameElements(o, out[0]!, `float32 ${count}: rank ${r} vs rank 0`);
      assert.is(float32Violation(floats, out[0] as Float32Array, VALUES), undefined, `float32 ${count}`);
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('host-local hierarchy, 2 hosts x 2 ranks: the leaders send the flat path\'s streams across the link chunks, int32 exact', async () => {
  const id = await getUniqueId({ transport: 'inproc' });
  const comms = await within(Promise.all(['a', 'a', 'b', 'b'].map((hostId, rank) => Communicator.init({
    id, rank, size: 4, hostId, switchHierarchy: 'host', algorithm: 'switch', switch: server.address, switchSecret: server.secret,
    switchPacketValues: VALUES, chunkBytes: 16 * 1024, timeoutMs: 60_000,
  }))), 30_000, 'world');
  try {
    // The last: two pieces whose boundary cuts a link chunk (int32 only, to keep the suite quick).
    for (const count of [0, 1001, 100_000, MOST + 4099]) {
      const ints = comms.map((_, r) => randomInt32(count, r + 3 * count + 1));
      for (const [r, out] of (await counted(comms, ints, 'int32', 2)).entries()) sameElements(out, oracleReduce(ints, count, 'int32', 'sum'), `int32 ${count}, rank ${r}`);
      if (count > MOST) continue;
      const floats = comms.map((_, r) => randomFloat32(count, r + count + 2));
      const out = await counted(comms, floats, 'float32', 2, true);
      for (const [r, o] of out.entries()) sameElements(o, out[0]!, `float32 ${count}: rank ${r} vs rank 0`);
    }
  } finally {
    await destroyWorld(comms);
  }
});

test('a GPU buffer on rank 0 and a TypedArray on rank 1 send the same streams (two pieces), int32 exact', async () => {
  const comms = await switchWorld(2, { device });
  const count = MOST + 5000;
  const ints = comms.map((_, r) => randomInt32(count, r + 77));
  const buffer = device.createBuffer({ size: 4 * count, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  try {
    writeRegion(device, { buffer, byteOffset: 0 }, new Uint8Array(ints[0]!.buffer));
    const host = new Int32Array(count);
    const before = firstPackets();
    await within(Promise.all([
      comms[0]!.allReduce(buffer, buffer, count, 'int32', 'sum'),
      comms[1]!.allReduce(ints[1]!, host, count, 'int32', 'sum'),
    ]), 60_000, 'mixed memories');
    assert.is(aggregatorPieces(count, PACKETS).length, 2);
    assert.is(firstPackets() - before, 2 * expectedPackets(count, false));
    const want = oracleReduce(ints, count, 'int32', 'sum');
    sameElements(host, want, 'rank 1 (host)');
    sameElements(new Int32Array((await readRegion(device, { buffer, byteOffset: 0 }, 4 * count)).slice().buffer), want, 'rank 0 (GPU)');
  } finally {
    buffer.destroy();
    await destroyWorld(comms);
  }
});

test.after(() => {
  setSwitchWorkerExtras({});
  server.close();
});

test.run();
