// A data-parallel training step in miniature: every rank holds its gradients in a GPUBuffer,
// averages them with allReduce, and checks that all ranks now hold the same values.
//
//   npx webccl-run -np 4 examples/data-parallel.ts
//
// In your own project import from 'webccl' instead of '../lib/index.node.js'.
import { Communicator, createNodeDevice, readRegion, region } from '../lib/index.node.js';

const PARAMETERS = 1 << 20;

const device = await createNodeDevice();
const comm = await Communicator.fromEnv({ device });

// Stand-in for a backward pass: rank r's gradient for parameter i is r + i % 10.
const gradients = device.createBuffer({
  size: PARAMETERS * 4,
  usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
});
device.queue.writeBuffer(gradients, 0, Float32Array.from({ length: PARAMETERS }, (_, i) => comm.rank + (i % 10)));

const started = performance.now();
await comm.allReduce(gradients, gradients, PARAMETERS, 'float32', 'avg');
const elapsedMs = performance.now() - started;

// The average over ranks 0..n-1 of (r + i % 10) is (n - 1) / 2 + i % 10.
const averaged = new Float32Array((await readRegion(device, region(gradients), PARAMETERS * 4)).buffer);
const expectedMean = (comm.size - 1) / 2;
const wrong = averaged.findIndex((value, i) => Math.abs(value - (expectedMean + (i % 10))) > 1e-5);
console.log(`rank ${comm.rank}/${comm.size}: averaged ${PARAMETERS} gradients in ${elapsedMs.toFixed(1)} ms on ${comm.transport.description}, ${wrong < 0 ? 'all correct' : `wrong from element ${wrong}`}`);

await comm.destroy();
device.destroy();
process.exit(wrong < 0 ? 0 : 1);
