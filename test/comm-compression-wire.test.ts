// What compression puts on the wire, counted through a transport that wraps inproc and adds
// up every allReduce payload: a ring allreduce sends each segment 2(n-1) times in all (n-1
// reduce-scatter hops, n-1 all-gather hops), so the ranks together send exactly
// 2(n-1) · Σ_segments encodedBytes(segment) — the codec row's own figure, measured. And the
// codecs over the tcp transport (real sockets), against the float64 oracle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the webccl+tcp:// world
import { Communicator } from '../lib/comm/communicator.js';
import { codecNamed, CODECS } from '../lib/collectives/codecs.js';
import { evenSegments } from '../lib/collectives/partition.js';
import { connectInproc } from '../lib/transport/inproc.js';
import type { Header, Transport } from '../lib/transport/transport.js';
import { SWITCHML_CODEC_BLOCK } from '../lib/memory/codecs/switchml.js';
import { checkCompressed, runCompressed } from './helpers/compression-checks.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';

function counting(inner: Transport): Transport & { bytes: number } {
  const wrapper = {
    bytes: 0,
    get rank() { return inner.rank; },
    get size() { return inner.size; },
    description: `counting(${inner.description})`,
    send(peer: number, header: Header, payload: Uint8Array) {
      if (header.signature.kind === 'allReduce') wrapper.bytes += payload.byteLength;
      return inner.send(peer, header, payload);
    },
    recv: inner.recv.bind(inner),
    onControl: inner.onControl.bind(inner),
    onFailure: inner.onFailure.bind(inner),
    close: inner.close.bind(inner),
  };
  return wrapper;
}

test('bytes on the wire per codec = 2(n-1) · Σ_segments encodedBytes (ring, one chunk per segment)', async () => {
  const ratios: string[] = [];
  for (const size of [2, 3, 4]) {
    const name = `wire-${Math.random()}`;
    const transports = Array.from({ length: size }, (_, rank) => counting(connectInproc(name, rank, size)));
    const comms = await Promise.all(transports.map((transport, rank) => Communicator.init({ rank, size, transport, chunkBytes: 1 << 24 })));
    try {
      for (const count of [1, 1001, 65_537]) {
        for (const codec of CODECS) {
          const before = transports.reduce((s, t) => s + t.bytes, 0);
          const countedBefore = comms.reduce((s, c) => s + c.bytesSent, 0);
          await runCompressed(comms, { codec: codec.name, count, op: 'sum', algorithm: 'ring' });
          const measured = transports.reduce((s, t) => s + t.bytes, 0) - before;
          // The communicators' own count (webccl-perf's wire column) agrees with the transport's.
          assert.is(comms.reduce((s, c) => s + c.bytesSent, 0) - countedBefore, measured, `bytesSent, ${codec.name}`);
          const blocks = Math.ceil(count / SWITCHML_CODEC_BLOCK);
          const expected = codec.format.kind === 'integer'
            // Exponents (int32 max) then integer sums (int32 sum), each a plain ring.
            ? 2 * (size - 1) * 4 * (count + blocks)
            : 2 * (size - 1) * evenSegments(count, size, 4).reduce((s, seg) => s + codec.encodedBytes(seg.length, 'float32'), 0);
          assert.is(measured, expected, `${codec.name}, ${size} ranks, ${count} elements`);
          if (size === 4 && count === 65_537) ratios.push(`${codec.name} ${(measured / (2 * 3 * 4 * count)).toFixed(3)}`);
        }
      }
    } finally {
      await Promise.all(comms.map((c) => c.destroy()));
      await Promise.all(transports.map((t) => t.close()));
    }
  }
  // The rows' figures for large counts, as the README states them.
  assert.ok(codecNamed('int8')!.encodedBytes(1 << 20, 'float32') / (4 << 20) <= 0.27);
  assert.ok(codecNamed('onebit')!.encodedBytes(1 << 20, 'float32') / (4 << 20) <= 0.05);
  console.log(`  wire bytes / float32 bytes, 4 ranks, 65537 elements: ${ratios.join(', ')}`);
});

for (const size of [2, 3]) {
  test(`tcp: ${size} ranks, every codec, counts 0/1/7/70001, ring and tree, within bounds and bit-identical`, async () => {
    const comms = await createWorld(size, { chunkBytes: 16384 }, 'tcp');
    try {
      for (const codec of ['bf16', 'fp16', 'int8', 'switchml'] as const) {
        for (const count of [0, 1, 7, 70_001]) {
          for (const algorithm of ['ring', 'tree']) await checkCompressed(comms, { codec, count, op: count % 2 ? 'avg' : 'sum', algorithm });
        }
      }
      for (const count of [1, 7, 70_001]) await runCompressed(comms, { codec: 'onebit', count, op: 'sum', algorithm: 'ring', errorFeedback: `tcp-${count}` });
    } finally {
      await destroyWorld(comms);
    }
  });
}

test.run();
