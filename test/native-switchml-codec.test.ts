// The addon's SwitchML packet codec (native/src/switchml-codec.cc) against the TypeScript oracle
// (lib/cpu/switchml-packets.ts over lib/cpu/switchml.ts), bit for bit: block exponents,
// quantizing into a packet, int32 to and from big-endian, dequantizing a result, on random bit
// patterns laced with NaN, ±Inf, ±0, subnormals and values above the agreed exponent, with
// agreed exponents and sums at every extreme, for packets of 64, 256, 1024 and 4096 values and
// partial last chunks, at aligned and unaligned offsets (whole buffers compared, so a write out of
// range shows). Then bad arguments at random: each throws InvalidArgument, writes nothing, and
// the process carries on. Then whole streams: n workers' datagrams and results are byte for byte
// the same with either codec, and a worker's codec choice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebcclError } from '../lib/errors.js';
import { loadNative, describeUnavailable } from '../lib/native/load.js';
import { nativeSwitchmlPackets } from '../lib/native/switchml-codec.js';
import { TYPESCRIPT_SWITCHML_PACKETS as TS, type SwitchmlPacketCodec } from '../lib/cpu/switchml-packets.js';
import { AllReduceStream, type SwitchData, type SwitchOp } from '../lib/switch/allreduce-stream.js';
import { decodePacket, HEADER_BYTES, MSG_RESULT, valuesOf } from '../lib/switch/packet.js';
import { switchCodec } from '../lib/switch/stream-codec.js';
import { installedSwitchmlPackets, useNativeSwitchmlPackets } from '../lib/cpu/switchml-packets.js';
import { CpuMemorySpace, CpuRegion } from '../lib/cpu/cpu-memory.js';
import { seededWords } from './helpers/codec-inputs.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the native suite needs the addon: ${describeUnavailable(loaded)}`);
const addon = loaded.addon;
const found = nativeSwitchmlPackets(addon);
if (!found) throw new Error('the addon has no SwitchML codec (rebuild it: node native/build.mjs)');
const NATIVE: SwitchmlPacketCodec = found;

const PACKET_VALUES = [64, 256, 1024, 4096];
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const WORKERS = [1, 2, 3, 5, 8, 32, 1000, 65_537, INT32_MAX];
const SPECIAL_F32 = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff812345, 0x7f800000, 0xff800000, 0, 0x80000000, 0x00000001, 0x807fffff,
  0x00400000, 0x00800000, 0x80800000, 0x3f800000, 0xbf800000, 0x7f7fffff, 0xff7fffff, 0x3effffff, 0x4b000001, 0x33000000, 0x00ffffff];
const SPECIAL_SUMS = [0, 1, -1, 2, -2, INT32_MAX, INT32_MIN, INT32_MIN + 1, INT32_MAX - 1, 1 << 24, (1 << 24) + 1, -(1 << 24) - 1, 0x55555555, -0x55555555];

/** A random source (seeded: a failure reproduces). */
function randomSource(seed: number): { int(n: number): number; word(): number; pick<T>(list: readonly T[]): T } {
  const words = seededWords(1 << 16, seed);
  let at = 0;
  const word = () => words[at++ & 0xffff]! ^ (at >>> 16) * 0x9e3779b9;
  return { word: () => word() >>> 0, int: (n) => (word() >>> 0) % n, pick: (list) => list[(word() >>> 0) % list.length]! };
}

type Random = ReturnType<typeof randomSource>;

/** `count` f32 values: mostly random significands near a per-block exponent, some specials, some raw bits. */
function floats(random: Random, count: number, block: number, nonFinite: boolean): Float32Array {
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  let field = 127;
  for (let i = 0; i < count; i++) {
    if (i % block === 0) field = 1 + random.int(253);
    const r = random.word();
    if (r % 13 === 0) bits[i] = random.pick(SPECIAL_F32);
    else if (r % 29 === 0) bits[i] = random.word();
    else bits[i] = ((r & 1) << 31 | Math.max(0, Math.min(254, field - random.int(40))) << 23 | (random.word() & 0x7fffff)) >>> 0;
    if (!nonFinite && (bits[i]! & 0x7f800000) === 0x7f800000) bits[i] = bits[i]! & 0x807fffff;
  }
  return out;
}

/** Agreed exponents near the local ones: equal, above (others' larger values), below (the contract broken: saturation), or extreme. */
function agreedExponents(random: Random, local: Int32Array): Int32Array {
  return Int32Array.from(local, (e) => {
    const r = random.int(16);
    if (r < 6) return e;
    if (r < 10) return Math.min(129, e + random.int(40));
    if (r < 12) return e - 1 - random.int(40);
    return random.pick([129, 128, -125, -126, 130, 1000, -1000, INT32_MAX, INT32_MIN, 200, -300]);
  });
}

/** A packet buffer with its values at `offset` (aligned or not) and canary bytes around them. */
function packetBuffer(random: Random, count: number, offset: number): { bytes: Uint8Array; view: DataView } {
  const buffer = new ArrayBuffer(offset + 4 * count + 16);
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i++) bytes[i] = random.int(256);
  return { bytes, view: new DataView(buffer, 3, buffer.byteLength - 3) };
}

const bitsOf = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** Runs `check` 4 times for each packet size and chunk length (whole, partial, one half, one value). */
function everyChunk(seed: number, check: (random: Random, values: number, block: number, count: number, round: number) => void): void {
  const random = randomSource(seed);
  for (const values of PACKET_VALUES) {
    for (const count of [values, values, 1, values / 2, values / 2 + 1, values - 1, 3]) {
      for (let round = 0; round < 4; round++) check(random, values, values / 2, count, round);
    }
  }
}

// Each build of the loops the CPU can run: the baseline one (SSE2, or NEON on arm64) always,
// through the addon's test hook, and the one chosen at load (AVX2 on most x86-64).
const VARIANTS = [...new Set(['baseline', addon.switchmlVariant!])];
function select(variant: string): void {
  assert.is(addon.switchmlSelectVariant!(variant === 'baseline' ? 'baseline' : 'auto'), variant);
}

for (const variant of VARIANTS) {
  test(`${variant} loops: block exponents, quantize and int32 to big-endian: the same bytes as TypeScript (64 to 4096 values, partial chunks, any offset)`, () => {
    select(variant);
    everyChunk(1, (random, values, block, count, round) => {
      const start = random.int(5);
      const x = floats(random, start + count + random.int(3), block, round % 2 === 1);
      const blocks = Math.ceil(count / block);
      const localTs = new Int32Array(blocks + 2).fill(7);
      const localNative = Int32Array.from(localTs);
      TS.blockExponents(x, start, count, block, localTs, 1);
      NATIVE.blockExponents(x, start, count, block, localNative, 1);
      assert.equal(Array.from(localNative), Array.from(localTs), `exponents of ${count} of ${values}`);

      const agreed = new Int32Array(blocks + 3);
      agreed.set(agreedExponents(random, localTs.subarray(1, 1 + blocks)), 2);
      const workers = random.pick(WORKERS);
      const offset = HEADER_BYTES + random.int(4);
      const ts = packetBuffer(random, count, offset);
      const nativeBytes = Uint8Array.from(ts.bytes);
      const native = { bytes: nativeBytes, view: new DataView(nativeBytes.buffer, 3, nativeBytes.length - 3) };
      const little = round === 3; // a host int32 region's order (CPU memory) instead of a packet's
      TS.quantize(x, start, count, block, agreed, 2, workers, ts.view, offset - 3, little);
      NATIVE.quantize(x, start, count, block, agreed, 2, workers, native.view, offset - 3, little);
      assert.equal(native.bytes, ts.bytes, `quantize ${count} of ${values}, ${workers} workers, exponents ${Array.from(agreed)}, little-endian ${little}`);

      const ints = Int32Array.from({ length: start + count }, () => (random.int(5) === 0 ? random.pick(SPECIAL_SUMS) : random.word() | 0));
      TS.int32ToBigEndian(ints, start, count, ts.view, offset - 3);
      NATIVE.int32ToBigEndian(ints, start, count, native.view, offset - 3);
      assert.equal(native.bytes, ts.bytes, `int32 ${count} of ${values}`);
    });
  });

  test(`${variant} loops: dequantize (sum and avg) and int32 from big-endian: the same bits as TypeScript`, () => {
    select(variant);
    everyChunk(2, (random, values, block, count, round) => {
      const offset = random.int(8);
      const { bytes } = packetBuffer(random, count, offset);
      const packet = new DataView(bytes.buffer, offset);
      for (let i = 0; i < count; i++) packet.setInt32(4 * i, random.int(4) === 0 ? random.pick(SPECIAL_SUMS) : random.word() >> random.int(32));
      const exponents = Int32Array.from({ length: Math.ceil(count / block) + 1 }, () =>
        random.int(6) === 0 ? random.pick([129, 130, 128, -125, -126, -200, 1000, INT32_MAX, INT32_MIN]) : random.int(260) - 130);
      const workers = random.pick(WORKERS);
      for (const divisor of [1, workers, random.pick(WORKERS)]) {
        const outStart = random.int(3);
        const ts = new Float32Array(outStart + count + 2).fill(-7.5);
        const native = Float32Array.from(ts);
        const little = round === 3;
        TS.dequantize(packet, 0, count, block, exponents, 1, workers, divisor, ts, outStart, little);
        NATIVE.dequantize(packet, 0, count, block, exponents, 1, workers, divisor, native, outStart, little);
        assert.equal(bitsOf(native), bitsOf(ts), `dequantize ${count} of ${values}, ${workers} workers, divisor ${divisor}, little-endian ${little}`);

        const intsTs = new Int32Array(outStart + count + 2).fill(99);
        const intsNative = Int32Array.from(intsTs);
        TS.int32FromBigEndian(packet, 0, count, divisor, intsTs, outStart);
        NATIVE.int32FromBigEndian(packet, 0, count, divisor, intsNative, outStart);
        assert.equal(Array.from(intsNative), Array.from(intsTs), `int32 ${count} of ${values}, divisor ${divisor}`);
      }
    });
  });

  test(`${variant} loops: every f32 exponent field and rounding tie: quantize agrees with TypeScript for each shift`, () => {
    select(variant);
    // Significands whose product with M lands on a rounding tie or one off it, at every exponent
    // field (0 = subnormal .. 255 = NaN/Inf) against agreed exponents from far below to far above.
    const x = new Float32Array(256 * 8);
    const bits = new Uint32Array(x.buffer);
    for (let field = 0; field < 256; field++) {
      const mantissas = [0, 1, 0x400000, 0x7fffff, 0x200000, 0x600001, 0x12345, 0x7ffffe];
      mantissas.forEach((m, k) => { bits[field * 8 + k] = ((k & 1) << 31 | field << 23 | m) >>> 0; });
    }
    for (const workers of [1, 3, 7, 32, INT32_MAX]) {
      for (let emax = -127; emax <= 130; emax++) {
        const agreed = new Int32Array([emax]);
        const ts = new DataView(new ArrayBuffer(4 * x.length));
        const native = new DataView(new ArrayBuffer(4 * x.length));
        TS.quantize(x, 0, x.length, x.length, agreed, 0, workers, ts, 0);
        NATIVE.quantize(x, 0, x.length, x.length, agreed, 0, workers, native, 0);
        assert.equal(new Uint8Array(native.buffer), new Uint8Array(ts.buffer), `emax ${emax}, ${workers} workers`);
      }
    }
  });
}
// The tests below run the load-time loops: VARIANTS lists them last.

/** One valid argument list per function (call i: the addon's function and its arguments). */
function validCalls(): Array<{ name: string; args: unknown[]; writes: Uint8Array }> {
  const x = new Float32Array(64).fill(1.5);
  const ints = new Int32Array(64).fill(3);
  const exponents = new Int32Array(4).fill(1);
  const packet = new Uint8Array(HEADER_BYTES + 256);
  const out = new Int32Array(8);
  const floatsOut = new Float32Array(64);
  return [
    { name: 'switchmlBlockExponents', args: [x, 0, 64, 32, out, 0], writes: new Uint8Array(out.buffer) },
    { name: 'switchmlQuantize', args: [x, 0, 64, 32, exponents, 0, 2, packet, HEADER_BYTES], writes: packet },
    { name: 'int32ToBigEndian', args: [ints, 0, 64, new DataView(packet.buffer), HEADER_BYTES], writes: packet },
    { name: 'switchmlDequantize', args: [packet, HEADER_BYTES, 64, 32, exponents, 0, 2, 2, floatsOut, 0], writes: new Uint8Array(floatsOut.buffer) },
    { name: 'int32FromBigEndian', args: [new DataView(packet.buffer), HEADER_BYTES, 64, 1, ints, 0], writes: new Uint8Array(ints.buffer) },
  ];
}

/** Values that are wrong in any argument position (a kind, a number, or nothing at all). */
function badValue(random: Random, valid: unknown): unknown {
  if (typeof valid === 'number') {
    return random.pick([-1, 0.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53, 2 ** 64, '1', undefined, null, 1n, {}, valid + 1e9, -valid - 1]);
  }
  const detached = new ArrayBuffer(256);
  const onDetached = [new Float32Array(detached), new Int32Array(detached), new Uint8Array(detached), new DataView(detached)];
  structuredClone(detached, { transfer: [detached] });
  return random.pick([...onDetached, undefined, null, 0, 'bytes', {}, [1, 2, 3], new Float64Array(64), new Uint16Array(128), new Int8Array(256), new ArrayBuffer(256),
    new Uint8Array(0), new Float32Array(1), new Int32Array(1),
    valid instanceof Float32Array ? new Int32Array(64) : new Float32Array(64), valid instanceof Uint8Array ? new Int32Array(256) : new Uint8Array(3)]);
}

test('bad arguments at random: InvalidArgument naming the call, nothing written, the process carries on', () => {
  const random = randomSource(3);
  let thrown = 0;
  for (let round = 0; round < 3000; round++) {
    const calls = validCalls();
    const call = random.pick(calls);
    const fn = addon[call.name as keyof typeof addon] as (...args: unknown[]) => void;
    const args = [...call.args];
    const position = random.int(args.length + 1);
    if (position === args.length) args.length = random.int(args.length); // too few arguments
    else {
      let bad = badValue(random, args[position]);
      // A number that happens to be valid there (e.g. a count of 0, a larger workers) is no test: make it out of range.
      if (typeof bad === 'number' && Number.isInteger(bad) && bad >= 0 && bad < 2 ** 31) bad = 2 ** 31;
      args[position] = bad;
    }
    const before = Uint8Array.from(call.writes);
    try {
      fn(...args);
    } catch (error) {
      thrown++;
      assert.ok(error instanceof Error && (error as { code?: string }).code === 'ERR_WEBCCL_NATIVE', `${call.name}: ${String(error)}`);
      assert.ok(error.message.startsWith(call.name) && error.message.length > call.name.length + 8, `${call.name}: unclear message '${error.message}'`);
      assert.equal(call.writes, before, `${call.name} wrote before failing (${error.message})`);
      continue;
    }
    assert.unreachable(`${call.name}(${args.map((a) => (typeof a === 'object' && a !== null ? a.constructor.name : String(a))).join(', ')}) did not throw`);
  }
  assert.is(thrown, 3000);
  // Ranges: one element or byte past the end of each array.
  const x = new Float32Array(64);
  const packet = new Uint8Array(HEADER_BYTES + 256);
  const exponents = new Int32Array(2);
  const expectThrow = (run: () => void, pattern: RegExp) => {
    try {
      run();
    } catch (error) {
      assert.instance(error, WebcclError);
      assert.is((error as WebcclError).code, 'InvalidArgument');
      assert.match((error as Error).message, pattern);
      return;
    }
    assert.unreachable(`no error for ${pattern}`);
  };
  expectThrow(() => NATIVE.quantize(x, 1, 64, 32, exponents, 0, 2, new DataView(packet.buffer), 0), /x: 1 \+ 64 elements exceeds its 64/);
  expectThrow(() => NATIVE.quantize(x, 0, 64, 32, exponents, 1, 2, new DataView(packet.buffer), 0), /exponents: 1 \+ 2 exponents exceeds its 2/);
  expectThrow(() => NATIVE.quantize(x, 0, 64, 32, exponents, 0, 2, new DataView(packet.buffer), HEADER_BYTES + 1), /packet: 11 \+ 256 bytes exceeds its 266/);
  expectThrow(() => NATIVE.quantize(x, 0, 64, 32, exponents, 0, 0, new DataView(packet.buffer), 0), /workers must be an integer in \[1, 2147483647\]/);
  expectThrow(() => NATIVE.quantize(x, 0, 64, 32, exponents, 0, 2, new DataView(x.buffer), 0), /x and packet share memory/);
  expectThrow(() => NATIVE.dequantize(new DataView(packet.buffer), 0, 64, 32, exponents, 0, 2, 2, new Float32Array(packet.buffer, 4, 64), 0), /packet and out share memory/);
  expectThrow(() => NATIVE.blockExponents(x, 0, 64, 0, new Int32Array(2), 0), /blockSize must be an integer in \[1, 16777216\]/);
  expectThrow(() => NATIVE.int32FromBigEndian(new DataView(packet.buffer), 0, 64, 0, new Int32Array(64), 0), /divisor must be an integer/);
  expectThrow(() => NATIVE.int32FromBigEndian(new DataView(packet.buffer), 0, 64, 1, new Int32Array(64), 1), /out: 1 \+ 64 elements exceeds its 64/);
  // Still alive and still right after all of that.
  for (const { name, args } of validCalls()) (addon[name as keyof typeof addon] as (...a: unknown[]) => void)(...args);
});

/**
 * One call of an n-worker job through an in-test switch (sums wrap, exponents take the max),
 * each worker with both codecs: every datagram and every result byte for byte the same.
 */
function streamBoth(inputs: SwitchData[], op: SwitchOp, sizeClass: number, baseSeq: number): SwitchData {
  const job = { job: 9, workers: inputs.length, slotBase: 5, window: 4, sizeClass };
  const ts = inputs.map((data) => new AllReduceStream(job, data, op, baseSeq, undefined, TS));
  const native = inputs.map((data) => new AllReduceStream(job, data, op, baseSeq, undefined, NATIVE));
  const ready = ts[0]!.initial();
  assert.equal(native[0]!.initial(), ready);
  const values = valuesOf(sizeClass);
  while (ready.length > 0) {
    const q = ready.shift()!;
    const sums = new Int32Array(values);
    let e0 = -128;
    let e1 = -128;
    let result: Uint8Array | undefined;
    inputs.forEach((_, w) => {
      const bytes = Uint8Array.from(ts[w]!.encode(q));
      assert.equal(native[w]!.encode(q), bytes, `worker ${w}, packet ${q} of ${ts[w]!.packets}, size class ${sizeClass}`);
      const view = new DataView(bytes.buffer, HEADER_BYTES);
      for (let i = 0; i < values; i++) sums[i] = (sums[i]! + view.getInt32(4 * i)) | 0;
      result ??= bytes;
      e0 = Math.max(e0, new DataView(bytes.buffer).getInt8(8));
      e1 = Math.max(e1, new DataView(bytes.buffer).getInt8(9));
    });
    const packet = Uint8Array.from(result!);
    const view = new DataView(packet.buffer);
    packet[0] = (MSG_RESULT << 4) | sizeClass;
    view.setInt8(8, e0);
    view.setInt8(9, e1);
    for (let i = 0; i < values; i++) view.setInt32(HEADER_BYTES + 4 * i, sums[i]!);
    const decoded = decodePacket(packet);
    assert.ok(decoded.ok);
    const next = [...ts[0]!.accept(q, decoded.packet)];
    for (let w = 1; w < inputs.length; w++) assert.equal([...ts[w]!.accept(q, decoded.packet)], next);
    for (const stream of native) assert.equal([...stream.accept(q, decoded.packet)], next);
    ready.push(...next);
    ready.sort((a, b) => a - b);
  }
  const want = ts[0]!.out;
  const bytes = (data: SwitchData) => Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  for (const stream of [...ts, ...native]) {
    assert.ok(stream.finished);
    assert.equal(bytes(stream.out), bytes(want));
  }
  return want;
}

test('streams: n workers\' datagrams and results are byte for byte the same with the native codec and without (64 to 4096 values, partial chunks, sum and avg)', () => {
  const random = randomSource(4);
  let seq = 0;
  for (const sizeClass of [1, 3, 5, 7]) {
    const values = valuesOf(sizeClass);
    for (const length of [1, values / 2 + 1, values * 3 + 5, values * 9 - 1]) {
      for (const n of [1, 3]) {
        for (const op of ['sum', 'avg'] as const) {
          const float = Array.from({ length: n }, () => floats(random, length, values / 2, random.int(3) === 0));
          seq += 40;
          streamBoth(float, op, sizeClass, seq);
          const ints = Array.from({ length: n }, () => Int32Array.from({ length }, () => random.word() | 0));
          streamBoth(ints, op, sizeClass, seq + 20);
        }
      }
    }
  }
});

test('CPU memory\'s switchml steps (the communicator\'s float32 switch path) give the same bits with the native codec installed and without', async () => {
  const random = randomSource(5);
  const space = new CpuMemorySpace();
  const region = (array: Float32Array | Int32Array) => new CpuRegion(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), array.length);
  for (const count of [1, 1000, 4096 * 3 + 7]) {
    const block = random.pick([32, 128, 2048]);
    const x = floats(random, count, block, random.int(2) === 0);
    const bump = Int32Array.from({ length: Math.ceil(count / block) }, () => random.int(3)); // other ranks' larger exponents
    const runs = [];
    for (const source of [() => TS, () => NATIVE]) {
      useNativeSwitchmlPackets(source);
      const exponents = new Int32Array(Math.ceil(count / block));
      const sums = new Int32Array(count);
      const out = new Float32Array(count);
      await space.switchml.exponents(region(x), count, block, region(exponents));
      for (let b = 0; b < exponents.length; b++) exponents[b] = Math.min(129, exponents[b]! + bump[b]!);
      await space.switchml.quantize(region(x), region(exponents), count, block, 3, region(sums));
      for (let i = 0; i < count; i++) sums[i] = (sums[i]! * 3) | 0;
      await space.switchml.dequantize(region(sums), region(exponents), count, block, 3, region(out));
      runs.push({ codec: installedSwitchmlPackets().name, exponents: Array.from(exponents), sums: Array.from(sums), out: bitsOf(out) });
    }
    assert.equal(runs.map((r) => r.codec), ['typescript', NATIVE.name]);
    assert.equal(runs[1]!.exponents, runs[0]!.exponents, `exponents of ${count}`);
    assert.equal(runs[1]!.sums, runs[0]!.sums, `sums of ${count}`);
    assert.equal(runs[1]!.out, runs[0]!.out, `results of ${count}`);
  }
  useNativeSwitchmlPackets(() => NATIVE);
});

test('a worker\'s codec choice: typescript always, native when registered, auto falls back with the reason kept for native', () => {
  useNativeSwitchmlPackets(() => NATIVE);
  assert.is(switchCodec('typescript'), TS);
  assert.is(switchCodec('native'), NATIVE);
  assert.is(switchCodec('auto'), NATIVE);
  assert.is(switchCodec(), NATIVE);
  useNativeSwitchmlPackets(() => ({ unavailable: 'WEBCCL_NATIVE=0' }));
  try {
    assert.is(switchCodec('auto'), TS);
    assert.throws(() => switchCodec('native'), (error: unknown) => error instanceof WebcclError && /native SwitchML codec is unavailable: WEBCCL_NATIVE=0/.test(error.message));
  } finally {
    useNativeSwitchmlPackets(() => NATIVE);
  }
  assert.match(NATIVE.name, /^native\((avx2|baseline)\)$/);
});

test.run();
