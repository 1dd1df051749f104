// What a browser tab does as one rank of a test world. `browserRank` runs inside the page, not
// here: rankExpression ships its source text, so it must use nothing from this module's scope,
// only its arguments (the page's webccl module and a JSON job) and the page's globals.
import type * as Webccl from '../../lib/index.browser.js';

export interface RankRun {
  readonly dtype: 'float32' | 'int32';
  readonly op: 'sum' | 'avg';
  /** Where the data lives: a GPUBuffer on the tab's WebGPU device, or a TypedArray. */
  readonly placement: 'gpu' | 'array';
  readonly input: readonly number[];
}

export interface RankJob {
  readonly id: string;
  readonly rank: number;
  readonly size: number;
  readonly timeoutMs: number;
  readonly runs: readonly RankRun[];
  /** More init options (JSON), e.g. { algorithm: 'switch' }. */
  readonly init?: Readonly<Record<string, string | number>>;
}

export interface RankOutcome {
  /** The WebGPU adapter the tab's device runs on, e.g. 'google swiftshader'. */
  readonly adapter: string;
  /** Each run's recv buffer, read back, in run order. */
  readonly outputs: number[][];
}

export async function browserRank(webccl: typeof Webccl, job: RankJob): Promise<RankOutcome> {
  const device = await webccl.createBrowserDevice();
  const info = device.adapterInfo;
  const adapter = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const comm = await webccl.Communicator.init({ ...job.init, id: job.id, rank: job.rank, size: job.size, device, timeoutMs: job.timeoutMs });
  const outputs: number[][] = [];
  try {
    for (const run of job.runs) {
      const count = run.input.length;
      const input = run.dtype === 'float32' ? Float32Array.from(run.input) : Int32Array.from(run.input);
      const elements = (bytes: ArrayBuffer) => Array.from(run.dtype === 'float32' ? new Float32Array(bytes) : new Int32Array(bytes));
      if (run.placement === 'array') {
        const recv = run.dtype === 'float32' ? new Float32Array(count) : new Int32Array(count);
        await comm.allReduce(input, recv, count, run.dtype, run.op);
        outputs.push(Array.from(recv));
        continue;
      }
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const send = device.createBuffer({ size: input.byteLength, usage });
      const recv = device.createBuffer({ size: input.byteLength, usage });
      webccl.writeRegion(device, webccl.region(send), new Uint8Array(input.buffer));
      await comm.allReduce(send, recv, count, run.dtype, run.op);
      // slice(): the read-back view may sit at any offset of a larger buffer.
      outputs.push(elements((await webccl.readRegion(device, webccl.region(recv), input.byteLength)).slice().buffer));
      send.destroy();
      recv.destroy();
    }
  } finally {
    await comm.destroy();
    device.destroy();
  }
  return { adapter, outputs };
}

/** The expression a tab evaluates to run `job` (the test page puts the bundle at window.webccl). */
export function rankExpression(job: RankJob): string {
  return `(${browserRank.toString()})(window.webccl, ${JSON.stringify(job)})`;
}
