// Calibration on GPU memory (the real WebGPU device; lavapipe here, and this suite fails without
// an adapter): a 2-rank world with a device measures the GPU terms (the fold kernel's γ_gpu, the
// staging and submission costs), every rank the same, the file names the adapter, and the model
// prices GPU calls differently from host calls. A file without the GPU terms on a device world:
// adopted, with a WARN naming them.
process.env['WEBCCL_DEBUG'] = 'WARN';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { calibratedWorld } from '../bench/perf/calibration.js';
import { explainLines } from '../bench/perf/explain.js';
import { calibrationComm } from '../lib/comm/tuning.js';
import { adapterName } from '../lib/gpu/device.js';
import { calibrate } from '../lib/tune/calibrate.js';
import { predictSeconds } from '../lib/tune/model.js';
import { readTuning, tuningFileText } from '../lib/tune/tuning-file.js';
import { createWorld, destroyWorld } from './helpers/comm-world.js';
import { device } from './helpers/gpu.js';
import { within } from './within.js';

test('calibration with a device: GPU terms present, non-negative, agreed by every rank, and GPU calls priced apart from host calls', async () => {
  const comms = await within(createWorld(2, { device }), 30_000, 'a world with a device');
  try {
    const results = await within(Promise.all(comms.map((comm) => calibrate(calibrationComm(comm), { repeats: 3 }))), 60_000, 'calibration');
    const p = results[0]!.params;
    for (const result of results) assert.equal(result.params, p, 'every rank the same parameters');
    assert.is(p.memory, 'gpu');
    const gpu = p.gpu!;
    assert.ok(gpu, 'GPU terms measured');
    for (const key of ['call', 'message', 'stage', 'gamma'] as const) assert.ok(Number.isFinite(gpu[key]) && gpu[key] >= 0 && gpu[key] < 1, `gpu.${key} ${gpu[key]}`);
    assert.ok(gpu.gamma > 0, 'the fold kernel takes time per byte');
    // A GPU step is a submission and a read-back: GPU calls cost more than host ones somewhere.
    assert.ok(gpu.call + gpu.message + gpu.stage > 0, JSON.stringify(gpu));
    for (const bytes of [8, 1 << 16, 1 << 22]) {
      const call = { collective: 'allReduce' as const, bytes, ranks: 2, chunkBytes: 1 << 20 };
      const host = predictSeconds('ring', call, p)!;
      const onGpu = predictSeconds('ring', { ...call, memory: 'gpu' }, p)!;
      assert.ok(onGpu !== host, `ring of ${bytes} B: GPU ${onGpu} s, host ${host} s`);
    }
    assert.ok(Number.isFinite(results[0]!.seconds) && results[0]!.seconds > 0, `calibration took ${results[0]!.seconds} s`);
    // --explain --mem gpu prices the sweep on GPU memory, --mem cpu on host memory.
    const explain = (mem: string) => explainLines(parsePerfArgs(['allreduce', '--explain', '--np', '2', '-b', '4M', '-e', '4M', '--mem', mem]) as PerfOptions, { params: p, what: 'the calibration' });
    const predicted = (lines: string[]) => Number(lines.find((line) => !line.startsWith('#'))!.trim().split(/\s+/)[2]);
    const [gpuLines, cpuLines] = [explain('gpu'), explain('cpu')];
    assert.ok(gpuLines.some((line) => line.includes('priced on GPU memory')));
    assert.is.not(predicted(gpuLines), predicted(cpuLines), 'explain prices GPU memory apart');

    // The file names the adapter, and a world on the same adapter adopts it without a note.
    const world = calibratedWorld(comms[0]!);
    assert.is(world.device, adapterName(device));
    const text = tuningFileText(world, p, results[0]!.seconds);
    const adopted = await readTuning(text, 'the file', world);
    assert.ok('tuning' in adopted && adopted.stale === undefined, JSON.stringify(adopted));
    // Written before GPU calibration: adopted on a device world too, with a note naming the GPU terms.
    const old = JSON.parse(text) as { params: Record<string, unknown> };
    delete old.params['gpu'];
    const stale = await readTuning(JSON.stringify(old), 'old.json', world);
    assert.ok('tuning' in stale && stale.tuning.params.gpu === undefined);
    assert.match(('stale' in stale && stale.stale) || '', /old\.json has no gpu/);
  } finally {
    await destroyWorld(comms);
  }
});

test.run();
