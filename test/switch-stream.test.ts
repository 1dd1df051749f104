// The worker's packet stream without sockets: every datagram it encodes into a slot buffer that
// earlier calls wrote (SlotPackets, reused for the worker's life) is byte for byte what a fresh
// buffer gives, and for int32 what packet.ts's encodePacket gives for the chunk, zero-padded;
// with a switch that takes exponents-only packets, a float32 stream's first L packets are the
// 10-byte header alone and every other packet is full; with exponents agreed before the call,
// a float32 stream has no lead and gives what quantize, sum and dequantize give.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AllReduceStream, SlotPackets, type SwitchData } from '../lib/switch/allreduce-stream.js';
import { decodePacket, encodePacket, EXPONENTS_ONLY, HEADER_BYTES, MSG_RESULT, MSG_UPDATE, packetBytes, valuesOf } from '../lib/switch/packet.js';
import { switchmlBlockExponents, switchmlDequantize, switchmlQuantize } from '../lib/cpu/switchml.js';
import { generator, randomFloat32, randomInt32 } from './helpers/switch-job.js';

const plain = { job: 3, workers: 1, slotBase: 40, window: 4, sizeClass: 1 };

/** Runs one call as a one-worker switch would answer it (the result is the update); checks each packet. */
function call(data: SwitchData, baseSeq: number, shared: SlotPackets, job: typeof plain & { exponentsOnly?: boolean } = plain): number {
  const reused = new AllReduceStream(job, data, 'sum', baseSeq, shared);
  const fresh = new AllReduceStream(job, data, 'sum', baseSeq);
  const ready = reused.initial();
  assert.equal(fresh.initial(), ready);
  while (ready.length > 0) {
    const q = ready.shift()!;
    const bytes = reused.encode(q);
    const expected = fresh.encode(q);
    assert.equal(Array.from(bytes), Array.from(expected), `packet ${q} of ${reused.packets} (${data.constructor.name} of ${data.length})`);
    const lead = reused.packets - Math.ceil(data.length / valuesOf(job.sizeClass));
    const short = job.exponentsOnly === true && q < lead;
    assert.is(bytes.length, short ? HEADER_BYTES : packetBytes(job.sizeClass), `packet ${q}'s length (lead ${lead})`);
    // The worker drops an exponents-only result for a packet whose result must carry values.
    assert.is(reused.needsValues(q), q >= lead, `packet ${q} needs values (lead ${lead})`);
    if (data instanceof Int32Array) {
      const values = valuesOf(job.sizeClass);
      const header = { type: MSG_UPDATE, sizeClass: job.sizeClass, job: job.job, packetId: baseSeq + q, slot: job.slotBase + reused.localSlot(q), copy: reused.copy(q), e0: -128, e1: -128 } as const;
      assert.equal(Array.from(bytes), Array.from(encodePacket(header, data.subarray(q * values, (q + 1) * values))));
    }
    const result = Uint8Array.from(bytes);
    result[0] = (MSG_RESULT << 4) | (bytes[0]! & EXPONENTS_ONLY) | job.sizeClass;
    const decoded = decodePacket(result);
    assert.ok(decoded.ok);
    const next = [...reused.accept(q, decoded.packet)];
    assert.equal([...fresh.accept(q, decoded.packet)], next);
    ready.push(...next);
    ready.sort((a, b) => a - b);
  }
  assert.ok(reused.finished);
  assert.equal(Array.from(reused.out), Array.from(fresh.out));
  return reused.packets;
}

for (const exponentsOnly of [false, true]) {
  test(`slot buffers reused across calls of random sizes and types encode exactly what fresh ones do (padding included), exponents-only packets ${exponentsOnly ? 'offered' : 'not offered'}`, () => {
    const next = generator(5);
    const shared = new SlotPackets(plain.window, plain.sizeClass);
    let seq = 0;
    for (let round = 0; round < 40; round++) {
      const length = next() % 700;
      const data = next() % 2 === 0 ? randomInt32(length, round + 1) : randomFloat32(length, round + 1);
      seq += call(data, seq, shared, { ...plain, exponentsOnly });
    }
  });
}

test('float32 with agreed exponents: one packet per chunk, each quantized and dequantized with them, in place; a wrong exponent count is refused', () => {
  const values = valuesOf(plain.sizeClass);
  const half = values / 2;
  for (const length of [1, half, half + 1, 3 * values + 5, 700]) {
    const x = randomFloat32(length, length);
    // Raised from the data's own, as an agreement with other workers may: the rounding shows it.
    const agreed = switchmlBlockExponents(x, length, half).map((e) => e + Math.abs(e % 3));
    const expected = switchmlDequantize(switchmlQuantize(x, agreed, length, half, plain.workers), agreed, length, half, plain.workers);
    const data = x.slice();
    const stream = new AllReduceStream(plain, data, 'sum', 0, undefined, undefined, data, agreed);
    assert.is(stream.packets, Math.ceil(length / values), `packets for ${length}`);
    const ready = stream.initial();
    while (ready.length > 0) {
      const q = ready.shift()!;
      const result = Uint8Array.from(stream.encode(q));
      result[0] = (MSG_RESULT << 4) | plain.sizeClass; // one worker: the result is the update
      const decoded = decodePacket(result);
      assert.ok(decoded.ok);
      ready.push(...stream.accept(q, decoded.packet));
    }
    assert.ok(stream.finished);
    assert.is(stream.out, data, 'in place');
    assert.equal(Array.from(data), Array.from(expected), `results for ${length}`);
    assert.throws(() => new AllReduceStream(plain, x, 'sum', 0, undefined, undefined, undefined, agreed.subarray(1)), /agreed exponents/);
  }
  assert.throws(() => new AllReduceStream(plain, new Int32Array(4), 'sum', 0, undefined, undefined, undefined, new Int32Array(1)), /int32 data/);
});

test.run();
