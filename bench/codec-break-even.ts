// `node --import ./test/register.mjs bench/codec-break-even.ts [--mem cpu|gpu] [--mib N] [--ranks N] [--runs N]`
// What a compressed ring allreduce costs in kernels and saves in bytes, per codec, on this
// machine: the rates of the steps a hop codec adds (encode, the fused decode + accumulate, the
// decode of the all-gather) and of the f32 sum it replaces, measured on one f32 vector of
// --mib MiB in host memory (the TypeScript codecs, the native sum when the addon is built) or on
// the GPU (the WGSL kernels on the Node adapter, submission and wait included). From them, the
// link bandwidth below which compression wins for a ring of --ranks ranks:
//   per rank and call on c elements, the ring sends 2(n-1)/n · c elements, each 4 bytes
//   uncompressed or e bytes encoded; it encodes c elements (one encoding per segment per
//   hop-owning step), decode-accumulates (n-1)/n · c, decodes c (all-gather writes and the
//   owner's write-back), and no longer sums (n-1)/n · c in f32. So
//     extra kernel time  K = c/R_enc + (n-1)/n · c/R_fold + c/R_dec − (n-1)/n · c/R_sum
//     bytes saved        S = 2(n-1)/n · c · (4 − e)
//   and compression pays on a link of bandwidth B when S / B > K, i.e. B < S / K.
// Rates are medians of --runs runs; the machine's load moves them, so read the ratios.
import { parseArgs } from 'node:util';
import '../lib/index.node.js'; // the native sum, when built
import { codecNamed } from '../lib/collectives/codecs.js';
import { cpuReducer } from '../lib/cpu/cpu-reducer.js';
import { medianSeconds } from '../lib/tune/calibrate/timing.js';
import { hostCodec } from '../lib/cpu/host-codec.js';

const { values: args } = parseArgs({
  options: { mem: { type: 'string', default: 'cpu' }, mib: { type: 'string', default: '16' }, ranks: { type: 'string', default: '4' }, runs: { type: 'string', default: '5' } },
});
const count = Math.floor(Number(args.mib) * 1024 * 1024 / 4 / 1024) * 1024;
const ranks = Number(args.ranks);
const runs = Number(args.runs);
const CODECS = ['bf16', 'fp16', 'int8', 'onebit'];

/** Seconds of one call, the median of `runs` (after one warm-up): calibration's own timing. */
const seconds = (fn: () => Promise<void> | void): Promise<number> => medianSeconds(async () => { await fn(); }, runs);

interface Steps { encode: number; fold: number; decode: number; sum: number }

function values(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i) * (1 + (i % 7)));
}

async function hostSteps(codecName: string): Promise<Steps> {
  const codec = codecNamed(codecName)!;
  const host = hostCodec(codec.format);
  const x = values(count);
  const residual = codec.errorFeedback === 'always' ? new Float32Array(count) : undefined;
  // Calls encode into payloads borrowed from the host scratch pool (pool20): a fresh array a call
  // would time its page faults (bf16 at 16 MiB: 173 M elements/s against the narrowing's ~10 G).
  const payload = host.encode(x, residual);
  const reused = () => payload;
  const acc = values(count);
  const out = new Float32Array(count);
  const accBytes = new Uint8Array(acc.buffer);
  const xBytes = new Uint8Array(x.buffer);
  return {
    encode: await seconds(() => { host.encode(x, residual, reused); }),
    fold: await seconds(() => host.decodeAccumulate(payload, count, acc)),
    decode: await seconds(() => host.decode(payload, count, out)),
    sum: await seconds(() => cpuReducer().accumulate('float32', 'sum', accBytes, xBytes, count)),
  };
}

async function gpuSteps(codecName: string): Promise<Steps> {
  const { createNodeDevice } = await import('../lib/gpu/node-device.js');
  const { GpuContext } = await import('../lib/gpu/context.js');
  const { gpuHopCodec } = await import('../lib/gpu/hop-codec.js');
  const { encodeReduceAccumulate } = await import('../lib/gpu/reduce.js');
  const { region } = await import('../lib/gpu/region.js');
  gpuDevice ??= await createNodeDevice();
  const ctx = GpuContext.for(gpuDevice);
  const codec = codecNamed(codecName)!;
  const hop = gpuHopCodec(codec.format);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const make = (bytes: number) => gpuDevice!.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage });
  const x = make(count * 4);
  gpuDevice.queue.writeBuffer(x, 0, values(count));
  const acc = make(count * 4);
  const residual = make(count * 4);
  const streams = hop.streams(count).map(make);
  const payload = make(codec.encodedBytes(count, 'float32'));
  // A real payload: encode x, then lay its streams out one after the other.
  await ctx.run((encoder) => {
    hop.prepareEncode(ctx, region(x), count, streams, region(residual))(encoder);
    let offset = 0;
    for (const [i, size] of hop.streams(count).entries()) { encoder.copyBufferToBuffer(streams[i]!, 0, payload, offset, size); offset += size; }
  });
  const steps = {
    encode: await seconds(() => ctx.run(hop.prepareEncode(ctx, region(x), count, streams, region(residual)))),
    fold: await seconds(() => ctx.run(hop.prepareDecodeAccumulate(ctx, region(payload), region(acc), count))),
    decode: await seconds(() => ctx.run(hop.prepareDecode(ctx, region(payload), region(acc), count))),
    sum: await seconds(() => ctx.run((encoder) => encodeReduceAccumulate(ctx, encoder, region(acc), [region(x)], count, 'float32', 'sum'))),
  };
  for (const buffer of [x, acc, residual, payload, ...streams]) buffer.destroy();
  return steps;
}
let gpuDevice: GPUDevice | undefined;

const rate = (s: number) => (count / s / 1e6).toFixed(0).padStart(7);
console.log(`# ${args.mem} memory, ${count} f32 elements (${args.mib} MiB), ring of ${ranks} ranks; rates in M elements/s (median of ${runs})`);
console.log('# codec    encode    fold  decode   f32 sum   wire/f32   extra kernel ms   saved MB   break-even link');
for (const name of CODECS) {
  const s = args.mem === 'gpu' ? await gpuSteps(name) : await hostSteps(name);
  const share = (ranks - 1) / ranks;
  const extra = s.encode + share * s.fold + s.decode - share * s.sum;
  const e = codecNamed(name)!.encodedBytes(count, 'float32') / count;
  const saved = 2 * share * count * (4 - e);
  const breakEven = extra > 0 ? `${(saved / extra / 1e9 * 8).toFixed(2)} Gbit/s` : 'always';
  console.log(`${name.padEnd(8)} ${rate(s.encode)} ${rate(s.fold)} ${rate(s.decode)}   ${rate(s.sum)}   ${(e / 4).toFixed(3).padStart(8)}   ${(extra * 1e3).toFixed(1).padStart(15)}   ${(saved / 1e6).toFixed(1).padStart(8)}   ${breakEven.padStart(15)}`);
}
gpuDevice?.destroy();
