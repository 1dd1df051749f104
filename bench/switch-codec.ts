// `node --import ./test/register.mjs bench/switch-codec.ts [elements] [runs]`
// A switch worker's CPU per value, without sockets: one allreduce stream (lib/switch/
// allreduce-stream.ts) of `elements` values (default 1 Mi) whose every datagram is answered at
// once by an in-process "switch" of 2 workers (the update itself, as a result: a copy and a
// decode), with the TypeScript codec and with the addon's, for float32 (exponents, quantize,
// dequantize) and int32 (big-endian copies), at 64, 256, 1024 and 4096 values a packet. That is
// the worker's encode + decode + stream bookkeeping per value; the codec alone is the difference
// between the rows (int32 packets of 64 values keep TypeScript's copies in both columns: the
// stream's choice, a call into the addon costs more there). Each figure is the fastest of `runs`
// (default 5) calls, the two codecs interleaved: on a shared machine the fastest run is the least
// disturbed, for both alike.
import { TYPESCRIPT_SWITCHML_PACKETS, type SwitchmlPacketCodec } from '../lib/cpu/switchml-packets.js';
import { loadNative, describeUnavailable } from '../lib/native/load.js';
import { nativeSwitchmlPackets } from '../lib/native/switchml-codec.js';
import { AllReduceStream, SlotPackets, type SwitchData } from '../lib/switch/allreduce-stream.js';
import { decodePacket, MSG_RESULT } from '../lib/switch/packet.js';

const elements = Number(process.argv[2] ?? 1 << 20);
const runs = Number(process.argv[3] ?? 5);
const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`bench/switch-codec.ts needs the addon: ${describeUnavailable(loaded)}`);
const native = nativeSwitchmlPackets(loaded.addon);
if (!native) throw new Error('the addon has no SwitchML codec (rebuild it: node native/build.mjs)');
const WINDOW = 256;

/** Seconds for one call: every packet encoded, answered, decoded and accepted, window by window. */
function oneCall(data: SwitchData, sizeClass: number, codec: SwitchmlPacketCodec, slots: SlotPackets, baseSeq: number): number {
  const job = { job: 1, workers: 2, slotBase: 0, window: WINDOW, sizeClass };
  const started = performance.now();
  const stream = new AllReduceStream(job, data, 'sum', baseSeq, slots, codec);
  const ready = stream.initial();
  let result: Uint8Array | undefined;
  while (ready.length > 0) {
    const q = ready.pop()!;
    const bytes = stream.encode(q);
    result ??= new Uint8Array(bytes.length);
    result.set(bytes);
    result[0] = (MSG_RESULT << 4) | sizeClass;
    const decoded = decodePacket(result);
    if (!decoded.ok) throw new Error(decoded.reason);
    for (const next of stream.accept(q, decoded.packet)) ready.push(next);
  }
  if (!stream.finished) throw new Error('the stream did not finish');
  return (performance.now() - started) / 1000;
}

const floats = Float32Array.from({ length: elements }, (_, i) => Math.sin(i) * 2 ** ((i >> 10) % 20 - 10));
const ints = Int32Array.from({ length: elements }, (_, i) => (i * 2654435761) | 0);
console.log(`# ${elements} values a call, window ${WINDOW}, fastest of ${runs}; ns per value (encode + answer + decode + accept), native = ${native.name}`);
console.log(`${'dtype'.padEnd(9)}${'values'.padEnd(8)}${'typescript'.padEnd(12)}${'native'.padEnd(10)}ratio`);
for (const [dtype, data] of [['float32', floats], ['int32', ints]] as const) {
  for (const sizeClass of [1, 3, 5, 7]) {
    const slots = new SlotPackets(WINDOW, sizeClass);
    const best = { ts: Infinity, native: Infinity };
    let seq = 0;
    for (let run = 0; run < runs + 1; run++) {
      // Run 0 warms both up (JIT) and is not counted.
      const ts = oneCall(data, sizeClass, TYPESCRIPT_SWITCHML_PACKETS, slots, seq);
      seq += 2 * elements;
      const nat = oneCall(data, sizeClass, native, slots, seq);
      seq += 2 * elements;
      if (run > 0) { best.ts = Math.min(best.ts, ts); best.native = Math.min(best.native, nat); }
    }
    const ns = (seconds: number) => (seconds * 1e9 / elements).toFixed(2);
    console.log(`${dtype.padEnd(9)}${String(32 << sizeClass).padEnd(8)}${ns(best.ts).padEnd(12)}${ns(best.native).padEnd(10)}${(best.ts / best.native).toFixed(1)}x`);
  }
}
