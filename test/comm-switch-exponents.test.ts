// Where the communicator's float32 switch calls agree their exponents (switchExponents,
// lib/comm/config.ts and lib/comm/switch-float.ts): 'auto', the default, agrees them in the
// packet stream (SwitchML's lead of exponent-only packets) from STREAM_EXPONENTS_RANKS ranks and
// over the link below, with the same bits either way, host and GPU buffers alike. The agreed
// configuration names the mode whenever there is a switch, so a rank of a version that left it
// implicit is refused at init instead of running the other mode. Counted at a real SwitchServer:
// a float32 stream of `chunks` packets sends a lead of min(W, chunks) more. 'auto' goes by the
// communicator's own size: a STREAM_EXPONENTS_RANKS-rank world's split halves take the link.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the switch aggregator
import type { Communicator } from '../lib/comm/communicator.js';
import { decodeConfig, encodeConfig, validateConfig, type AgreedConfig } from '../lib/comm/config.js';
import { exponentsInStream, STREAM_EXPONENTS_RANKS } from '../lib/collectives/switch-allreduce.js';
import { readRegion, writeRegion } from '../lib/gpu/transfer.js';
import { SwitchServer } from '../lib/switch/switch-server.js';
import { createWorld, destroyWorld, sameElements } from './helpers/comm-world.js';
import { device } from './helpers/gpu.js';
import { inStreamSums, randomFloat32 } from './helpers/switch-job.js';
import { allReduceAll } from './helpers/switch-world.js';
import { within } from './within.js';

const server = await SwitchServer.start({ port: 0 });
const VALUES = 256;
const WINDOW = 256;
// 9 packets of 256 values, the last one short.
const COUNT = 8 * VALUES + 77;
const CHUNKS = Math.ceil(COUNT / VALUES);

function switchWorld(size: number, extra: Parameters<typeof createWorld>[1] = {}): Promise<Communicator[]> {
  return within(createWorld(size, {
    switch: server.address, switchSecret: server.secret, algorithm: 'switch', switchPacketValues: VALUES, timeoutMs: 60_000, ...extra,
  }), 60_000, `${size} ranks`);
}

/** Packets the switch took in once (retransmitted and stale ones left out). */
function firstPackets(): number {
  return server.counters().jobs.reduce((sum, job) => sum + job.packetsIn - job.retransmissions - job.stale, 0);
}

test('the rule: \'auto\' agrees in the stream from STREAM_EXPONENTS_RANKS ranks, \'link\' and \'stream\' at any size', () => {
  assert.is(STREAM_EXPONENTS_RANKS, 4);
  assert.equal([2, 3, 4, 8, 32].map((ranks) => exponentsInStream('auto', ranks)), [false, false, true, true, true]);
  assert.equal([2, 32].map((ranks) => exponentsInStream('link', ranks)), [false, false]);
  assert.equal([2, 32].map((ranks) => exponentsInStream('stream', ranks)), [true, true]);
});

test('the agreed configuration names the mode with a switch (default auto), and refuses one without it or an unknown one', async () => {
  const comms = await switchWorld(2, { algorithm: 'auto' });
  let config: AgreedConfig;
  try {
    config = comms[0]!.config;
    assert.is(config.switchExponents, 'auto', 'the default, named');
    assert.is(comms[1]!.config.switchExponents, 'auto', 'rank 0\'s, on every rank');
  } finally {
    await destroyWorld(comms);
  }
  for (const mode of ['link', 'stream', 'auto'] as const) assert.is(decodeConfig(encodeConfig({ ...config, switchExponents: mode })).switchExponents, mode);
  const { switchExponents: _left, ...implicit } = config;
  assert.throws(() => validateConfig(implicit), /names no switch exponents mode \(a rank of an older webccl/);
  assert.throws(() => validateConfig({ ...config, switchExponents: 'max' as 'auto' }), /switch exponents 'max' is not one of auto, link, stream/);
  // Without a switch there is nothing to agree: absent.
  assert.is(validateConfig({ ...config, switch: '', switchJob: '' }).switchExponents, undefined);
});

test('\'auto\' at 3 ranks agrees over the link, at 4 in the stream: the lead reaches the switch, the bits are the link\'s (host and GPU buffers)', async () => {
  for (const size of [STREAM_EXPONENTS_RANKS - 1, STREAM_EXPONENTS_RANKS]) {
    const auto = await switchWorld(size, size === STREAM_EXPONENTS_RANKS ? { device } : {});
    const link = await switchWorld(size, { switchExponents: 'link' });
    try {
      const inputs = auto.map((_, r) => randomFloat32(COUNT, 70 * size + r));
      const want = await allReduceAll(link, inputs, 'float32', 'sum');
      const before = firstPackets();
      const got = await allReduceAll(auto, inputs, 'float32', 'sum');
      const lead = size >= STREAM_EXPONENTS_RANKS ? Math.min(WINDOW, CHUNKS) : 0;
      assert.is(firstPackets() - before, size * (CHUNKS + lead), `${size} ranks: ${lead === 0 ? 'no lead' : 'the lead\'s packets too'}`);
      for (const [r, out] of got.entries()) sameElements(out, want[r]!, `${size} ranks, rank ${r}: auto vs link`);
      if (size < STREAM_EXPONENTS_RANKS) continue;
      // GPU buffers take the same stream, staged through the host: the same packets, the host's bits.
      const buffers = inputs.map((input) => {
        const buffer = device.createBuffer({ size: 4 * COUNT, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
        writeRegion(device, { buffer, byteOffset: 0 }, new Uint8Array(input.buffer));
        return buffer;
      });
      try {
        const gpuBefore = firstPackets();
        await within(Promise.all(auto.map((comm, r) => comm.allReduce(buffers[r]!, buffers[r]!, COUNT, 'float32', 'sum'))), 60_000, 'GPU call');
        assert.is(firstPackets() - gpuBefore, size * (CHUNKS + lead), 'GPU buffers: the lead\'s packets too');
        for (const [r, buffer] of buffers.entries()) {
          const bytes = (await readRegion(device, { buffer, byteOffset: 0 }, 4 * COUNT)).slice();
          sameElements(new Float32Array(bytes.buffer), want[r]!, `rank ${r}: GPU buffers under auto vs the link's agreement`);
        }
      } finally {
        for (const buffer of buffers) buffer.destroy();
      }
    } finally {
      await destroyWorld(auto);
      await destroyWorld(link);
    }
  }
});

test('\'auto\' goes by the communicator\'s own size: a 4-rank world streams its exponents, its 2-rank split children agree over the link', async () => {
  const world = await switchWorld(STREAM_EXPONENTS_RANKS);
  try {
    assert.is(world[0]!.config.switchExponents, 'auto', 'the default');
    const inputs = world.map((_, r) => randomFloat32(COUNT, 90 + r));
    const lead = Math.min(WINDOW, CHUNKS);
    let before = firstPackets();
    const whole = await allReduceAll(world, inputs, 'float32', 'sum');
    assert.is(firstPackets() - before, world.length * (CHUNKS + lead), `${STREAM_EXPONENTS_RANKS} ranks: the lead\'s packets too`);
    const wholeOracle = await inStreamSums(server, inputs, VALUES);
    for (const [r, out] of whole.entries()) sameElements(out, wholeOracle[r]!, `world rank ${r} against SwitchML's scheme`);
    // Two children of half the world (even and odd world ranks, in world order): below STREAM_EXPONENTS_RANKS, so the link.
    const children = await within(Promise.all(world.map((comm) => comm.split(comm.rank % 2))), 30_000, 'split');
    try {
      assert.equal(children.map((child) => child!.size), world.map(() => STREAM_EXPONENTS_RANKS / 2));
      assert.is(children[0]!.config.switchExponents, 'auto', 'inherited from the world');
      before = firstPackets();
      const halves = await allReduceAll(children.map((child) => child!), inputs, 'float32', 'sum');
      assert.is(firstPackets() - before, world.length * CHUNKS, 'the children: data packets only, no lead');
      for (const color of [0, 1]) {
        const ranks = world.map((_, r) => r).filter((r) => r % 2 === color);
        const oracle = await inStreamSums(server, ranks.map((r) => inputs[r]!), VALUES);
        for (const [i, r] of ranks.entries()) sameElements(halves[r]!, oracle[i]!, `child ${color}, rank ${i} (world ${r}) against SwitchML's scheme`);
      }
    } finally {
      await Promise.all(children.map((child) => child!.destroy()));
    }
  } finally {
    await destroyWorld(world);
  }
});

test.after(() => server.close());
test.run();
