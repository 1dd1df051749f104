// The addon's 16-bit host codec loops (native/src/half-fold.cc: halfWidenAccumulate, halfNarrow,
// halfWiden) against lib/cpu/cast.ts's widenAccumulate, narrowBits and widenBits, bit for bit: every float16 and
// bfloat16 pattern against accumulators of every kind (±0, ±∞, subnormals, NaNs quiet and
// signalling of both signs, numbers whose sums round), ∞ - ∞ made NaN, lengths that leave
// vector tails, unaligned subarrays; narrowing over every upper half of the f32 patterns with
// low halves at and around the rounding ties; widening every 16-bit pattern (signalling NaNs
// stay signalling); the host half codec routed through the installed
// reducer; then bad arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { narrowBits, widenAccumulate, widenBits, type HalfType } from '../lib/cpu/cast.js';
import { CANONICAL_NAN_BITS } from '../lib/cpu/lanes.js';
import { WebcclError } from '../lib/errors.js';
import { nativeHalfFold } from '../lib/native/half-fold.js';
import { describeUnavailable, loadNative } from '../lib/native/load.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`the native suite needs the addon: ${describeUnavailable(loaded)}`);
const native = nativeHalfFold(loaded.addon);
if (!native) throw new Error('the addon has no halfWidenAccumulate/halfNarrow: rebuild it (node native/build.mjs)');
const fold = native;

const TYPES: HalfType[] = ['float16', 'bfloat16'];

/** Accumulator bits: zeros, infinities, subnormals, NaNs (quiet, signalling, both signs, payloads), numbers. */
const ACCS = [0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0x00400000, 0x3f800000, 0xbf800000,
  0x7f7fffff, 0xff7fffff, 0x477fe000, 0x33800000, 0x38800000, 0xb8800001, 0x3f800001, 0x4b800000, 0x7fc00000, 0xffc00000,
  0x7fc00001, 0x7f800001, 0xff800001, 0x7fbfffff, 0xffffffff, 0x7fa00000];

// A deterministic generator (xorshift32), so a failure reproduces.
let seed = 0x2545f491;
function next(): number {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed;
}

const hex = (bits: number) => `0x${bits.toString(16)}`;

/** '' when the two accumulators hold the same bits, else the first lane that differs and its inputs. */
function accDifference(got: Float32Array, want: Float32Array, acc: Uint32Array, src: Uint16Array): string {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) return `lane ${i}: native ${hex(g[i]!)}, TypeScript ${hex(w[i]!)} (acc ${hex(acc[i]!)}, src ${hex(src[i]!)})`;
  }
  return '';
}

/** Runs both folds on copies of (accBits, src) placed at element `offset` of fresh buffers; '' when they agree. */
function compareFold(type: HalfType, accBits: Uint32Array, src: Uint16Array, offset = 0): string {
  const n = accBits.length;
  const place = <T extends Float32Array | Uint16Array>(make: (length: number) => T, from: ArrayLike<number>): T => {
    const view = make(n + offset).subarray(offset) as T;
    view.set(from);
    return view;
  };
  const accNative = place((k) => new Float32Array(k), new Float32Array(accBits.buffer, accBits.byteOffset, n));
  const accScript = place((k) => new Float32Array(k), new Float32Array(accBits.buffer, accBits.byteOffset, n));
  // Float32Array.set copies bits, NaN payloads included (a typed-to-typed copy of the same type).
  const srcView = place((k) => new Uint16Array(k), src);
  fold.widenAccumulate(type, accNative, srcView);
  widenAccumulate(type, accScript, srcView);
  return accDifference(accNative, accScript, accBits, src);
}

function randomBits32(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, () => {
    const pick = next();
    return (pick & 3) === 0 ? ACCS[(pick >>> 2) % ACCS.length]! : next();
  });
}

function randomBits16(n: number): Uint16Array {
  return Uint16Array.from({ length: n }, () => next() & 0xffff);
}

const ALL16 = Uint16Array.from({ length: 65536 }, (_, i) => i);

for (const type of TYPES) {
  test(`halfWidenAccumulate ${type}: every 16-bit pattern against every kind of accumulator, as widenAccumulate`, () => {
    for (const acc of ACCS) {
      assert.is(compareFold(type, new Uint32Array(65536).fill(acc), ALL16), '', `acc ${hex(acc)}`);
      // Shifted by one: the last 15 patterns (negative NaNs of both types) fall in the scalar tail.
      assert.is(compareFold(type, new Uint32Array(65535).fill(acc), ALL16.subarray(1)), '', `acc ${hex(acc)}, shifted`);
    }
    // Accumulators mixed inside each block of 16 (a NaN block beside number lanes), and random ones.
    assert.is(compareFold(type, Uint32Array.from(ALL16, (_, i) => ACCS[i % ACCS.length]!), ALL16), '', 'mixed accumulators');
    assert.is(compareFold(type, randomBits32(65536), ALL16), '', 'random accumulators');
  });

  test(`halfWidenAccumulate ${type}: counts 0, 1, 7, 15, 16, 17, 1001, 4099 at element offsets 0-3`, () => {
    for (const count of [0, 1, 7, 15, 16, 17, 1001, 4099]) {
      for (const offset of [0, 1, 2, 3]) {
        assert.is(compareFold(type, randomBits32(count), randomBits16(count), offset), '', `${count} elements at offset ${offset}`);
      }
    }
  });

  test(`halfWidenAccumulate ${type}: ∞ - ∞ is the canonical NaN, NaN operands keep acc's first, quieted`, () => {
    const negInf = type === 'float16' ? 0xfc00 : 0xff80;
    const payloadNaN = type === 'float16' ? 0xfd01 : 0xff81; // signalling, negative, payload 1
    const widenedPayload = type === 'float16' ? 0xffa02000 : 0xff810000;
    // 33 lanes: two blocks of 16 (lane 5 of each tested) and a tail lane.
    const accBits = new Uint32Array(33).fill(0x3f800000);
    const src = new Uint16Array(33).fill(type === 'float16' ? 0x3c00 : 0x3f80); // 1.0
    for (const lane of [5, 21, 32]) { accBits[lane] = 0x7f800000; src[lane] = negInf; }
    accBits[6] = 0x7f800001; src[6] = payloadNaN; // both NaN: acc's wins, quieted
    accBits[22] = 0x3f800000; src[22] = payloadNaN; // the payload's, quieted
    const acc = new Float32Array(accBits.slice().buffer);
    fold.widenAccumulate(type, acc, src);
    const bits = new Uint32Array(acc.buffer);
    for (const lane of [5, 21, 32]) assert.is(hex(bits[lane]!), hex(CANONICAL_NAN_BITS), `lane ${lane}`);
    assert.is(hex(bits[6]!), hex(0x7fc00001), 'acc NaN first');
    assert.is(hex(bits[22]!), hex((widenedPayload | 0x00400000) >>> 0), 'payload NaN quieted');
    assert.is(compareFold(type, accBits, src), '');
  });

  test(`halfNarrow ${type}: every upper half of the f32 patterns with low halves at and around the ties, as narrowBits`, () => {
    // bf16 rounds at bit 16 (ties 0x8000), f16 at bit 13 (ties 0x1000) and, below 2^-14, higher bits.
    const lows = [0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x2000, 0x3000, 0x7fff, 0x8000, 0x8001, 0xc000, 0xe000, 0xf000, 0xffff];
    for (const low of [...lows, next() & 0xffff, next() & 0xffff]) {
      const src = Uint32Array.from({ length: 65536 }, (_, high) => ((high << 16) | low) >>> 0);
      const got = new Uint16Array(65536);
      const want = new Uint16Array(65536);
      fold.narrow(type, got, src);
      narrowBits(type, want, src);
      const lane = got.findIndex((bits, i) => bits !== want[i]);
      assert.is(lane < 0 ? '' : `${hex(src[lane]!)}: native ${hex(got[lane]!)}, TypeScript ${hex(want[lane]!)}`, '', `low half ${hex(low)}`);
    }
  });

  test(`halfNarrow ${type}: counts 0, 1, 7, 1001, 4099 at element offsets 0-3, Float32Array sources too`, () => {
    for (const count of [0, 1, 7, 1001, 4099]) {
      for (const offset of [0, 1, 2, 3]) {
        const src = new Uint32Array(count + offset).subarray(offset);
        src.set(randomBits32(count));
        const got = new Uint16Array(count + offset).subarray(offset);
        const want = new Uint16Array(count);
        fold.narrow(type, got, src);
        narrowBits(type, want, src);
        assert.equal(Array.from(got), Array.from(want), `${count} elements at offset ${offset}`);
        const asFloats = new Uint16Array(count);
        loaded.addon.halfNarrow!(type, asFloats, new Float32Array(src.buffer, src.byteOffset, count));
        assert.equal(Array.from(asFloats), Array.from(want), `Float32Array source, ${count} elements`);
      }
    }
  });
}

for (const type of TYPES) {
  test(`halfWiden ${type}: every 16-bit pattern, exactly as widenBits (signalling NaNs kept), at counts and offsets that leave tails`, () => {
    const cases: Array<[Uint16Array, number]> = [[ALL16, 0], [ALL16.subarray(1), 0], ...[0, 1, 7, 1001, 4099].flatMap((count) => [0, 1, 2, 3].map((offset): [Uint16Array, number] => [randomBits16(count), offset]))];
    for (const [src, offset] of cases) {
      const got = new Uint32Array(src.length + offset).subarray(offset);
      const want = new Uint32Array(src.length);
      fold.widen(type, got, src);
      widenBits(type, want, src);
      const lane = got.findIndex((bits, i) => bits !== want[i]);
      assert.is(lane < 0 ? '' : `${hex(src[lane]!)}: native ${hex(got[lane]!)}, TypeScript ${hex(want[lane]!)}`, '', `${src.length} elements at offset ${offset}`);
    }
    const signalling = type === 'float16' ? Uint16Array.of(0x7c01, 0xfd00) : Uint16Array.of(0x7f81, 0xffa0);
    const out = new Float32Array(2);
    loaded.addon.halfWiden!(type, out, signalling);
    const expected = type === 'float16' ? [0x7f802000, 0xffa00000] : [0x7f810000, 0xffa00000];
    assert.equal(Array.from(new Uint32Array(out.buffer), hex), expected.map(hex), 'signalling NaNs into a Float32Array');
  });
}

test('the host half codecs fold and encode through the installed reducer, the native one in Node', async () => {
  const { cpuReducer, useCpuReducer } = await import('../lib/cpu/cpu-reducer.js');
  await import('../lib/index.node.js');
  const { hostCodec } = await import('../lib/cpu/host-codec.js');
  const { codecNamed } = await import('../lib/collectives/codecs.js');
  const installed = cpuReducer();
  assert.is(installed.name, `native(${loaded.addon.reduceVariant})`);
  assert.is.not(installed.widenAccumulate, widenAccumulate, 'Node entry installs the native fold');
  assert.is.not(installed.narrow, narrowBits, 'Node entry installs the native narrowing');
  assert.is.not(installed.widen, widenBits, 'Node entry installs the native widening');
  const calls = { widenAccumulate: 0, narrow: 0, widen: 0 };
  useCpuReducer({
    ...installed,
    widenAccumulate: (...args) => { calls.widenAccumulate++; installed.widenAccumulate(...args); },
    narrow: (...args) => { calls.narrow++; installed.narrow(...args); },
    widen: (...args) => { calls.widen++; installed.widen(...args); },
  });
  try {
    for (const [name, type] of [['bf16', 'bfloat16'], ['fp16', 'float16']] as const) {
      const host = hostCodec(codecNamed(name)!.format);
      const x = new Float32Array(randomBits32(1001).buffer);
      const payload = host.encode(x, undefined);
      const want = new Uint16Array(1001);
      narrowBits(type, want, new Uint32Array(x.buffer));
      assert.equal(Array.from(new Uint16Array(payload.buffer, payload.byteOffset, 1001)), Array.from(want), `${name} encode`);
      const accBits = randomBits32(1001);
      const got = new Float32Array(accBits.slice().buffer);
      const expected = new Float32Array(accBits.slice().buffer);
      host.decodeAccumulate(payload, 1001, got);
      widenAccumulate(type, expected, want);
      assert.is(accDifference(got, expected, accBits, want), '', `${name} decodeAccumulate`);
      const decoded = new Float32Array(1001);
      const decodedWant = new Uint32Array(1001);
      host.decode(payload, 1001, decoded);
      widenBits(type, decodedWant, want);
      assert.equal(Array.from(new Uint32Array(decoded.buffer)), Array.from(decodedWant), `${name} decode`);
    }
  } finally {
    useCpuReducer(installed);
  }
  assert.equal(calls, { widenAccumulate: 2, narrow: 2, widen: 2 });
});

/** `call` throws an InvalidArgument whose message holds `words`. */
function throwsInvalid(call: () => void, words: string, what: string): void {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof WebcclError, `${what}: ${String(error)}`);
    assert.match((error as Error).message, words, what);
    return;
  }
  assert.unreachable(`${what}: did not throw`);
}

test('halfWidenAccumulate, halfNarrow and halfWiden: bad arguments throw InvalidArgument naming them, acc untouched', () => {
  const acc = Float32Array.of(1, 2, 3, 4);
  const src = Uint16Array.of(0x3c00, 0x3c00, 0x3c00, 0x3c00);
  const anyFold = fold as unknown as { widenAccumulate(...args: unknown[]): void; narrow(...args: unknown[]): void; widen(...args: unknown[]): void };
  throwsInvalid(() => anyFold.widenAccumulate('float32', acc, src), 'unknown 16-bit type float32', 'type');
  throwsInvalid(() => anyFold.widenAccumulate(16, acc, src), 'type must be a string', 'type not a string');
  throwsInvalid(() => anyFold.widenAccumulate('float16', new Float64Array(4), src), 'acc must be a Float32Array', 'Float64Array acc');
  throwsInvalid(() => anyFold.widenAccumulate('float16', new Uint8Array(16), src), 'acc must be a Float32Array', 'bytes as acc');
  throwsInvalid(() => anyFold.widenAccumulate('float16', [1, 2, 3, 4], src), 'acc must be a Float32Array', 'array acc');
  throwsInvalid(() => anyFold.widenAccumulate('float16', acc, new Int16Array(4)), 'src must be a Uint16Array', 'Int16Array src');
  throwsInvalid(() => anyFold.widenAccumulate('float16', acc, undefined), 'src must be a Uint16Array', 'missing src');
  throwsInvalid(() => anyFold.widenAccumulate('bfloat16', acc, src.subarray(1)), '4 f32 values but 3 16-bit values', 'lengths');
  const shared = new ArrayBuffer(32);
  throwsInvalid(() => anyFold.widenAccumulate('float16', new Float32Array(shared, 0, 4), new Uint16Array(shared, 8, 4)), 'overlap', 'overlap');
  assert.equal(Array.from(acc), [1, 2, 3, 4], 'acc untouched');
  const detached = new Float32Array(4);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  throwsInvalid(() => anyFold.widenAccumulate('float16', detached, src), '0 f32 values but 4 16-bit values', 'detached acc (no elements left)');
  const out = new Uint16Array(4);
  throwsInvalid(() => anyFold.narrow('half', out, new Float32Array(4)), 'unknown 16-bit type half', 'narrow type');
  throwsInvalid(() => anyFold.narrow('float16', new Uint32Array(4), new Float32Array(4)), 'dst must be a Uint16Array', 'narrow dst');
  throwsInvalid(() => anyFold.narrow('float16', out, new Int32Array(4)), 'src must be a Float32Array or a Uint32Array', 'narrow src kind');
  throwsInvalid(() => anyFold.narrow('bfloat16', out, new Float32Array(5)), '5 f32 values but 4 16-bit values', 'narrow lengths');
  throwsInvalid(() => anyFold.narrow('bfloat16', new Uint16Array(shared, 0, 4), new Float32Array(shared, 4, 4)), 'overlap', 'narrow overlap');
  assert.equal(Array.from(out), [0, 0, 0, 0], 'dst untouched');
  throwsInvalid(() => anyFold.widen('bf16', new Uint32Array(4), src), 'unknown 16-bit type bf16', 'widen type');
  throwsInvalid(() => anyFold.widen('float16', new Uint16Array(4), src), 'dst must be a Float32Array or a Uint32Array', 'widen dst');
  throwsInvalid(() => anyFold.widen('float16', new Uint32Array(4), new Uint8Array(8)), 'src must be a Uint16Array', 'widen src');
  throwsInvalid(() => anyFold.widen('float16', new Uint32Array(3), src), '3 f32 values but 4 16-bit values', 'widen lengths');
  throwsInvalid(() => anyFold.widen('float16', new Uint32Array(shared, 0, 4), new Uint16Array(shared, 12, 4)), 'overlap', 'widen overlap');
  // Too few arguments reach the addon itself (the wrapper always passes three): its own Error.
  try {
    (loaded.addon.halfWidenAccumulate as unknown as (...args: unknown[]) => void)('float16', acc);
    assert.unreachable('two arguments did not throw');
  } catch (error) {
    assert.is((error as { code?: unknown }).code, 'ERR_WEBCCL_NATIVE');
    assert.match((error as Error).message, 'expected 3 arguments, got 2');
  }
});

test.run();
