// Opens this process's ranks for webccl-perf: all of them with --transport inproc, otherwise the
// one rank the environment names (webccl-run, webccl-perf --np, torchrun-style launchers), or a
// lone rank 0 of 1. Also resolves where buffers live and what the header states about it.
import { Communicator, createNodeDevice, getUniqueId, type DataType } from '../../lib/index.node.js';
import { adapterName } from '../../lib/gpu/device.js';
import { providerForId } from '../../lib/transport/world.js';
import { transportNamed } from '../../lib/transport/registry.js';
import { bufferutilLoaded } from '../../lib/transport/websocket/bufferutil-status.js';
import type { PerfOptions } from './args.js';
import type { CallShape } from './expected.js';
import type { StoreFactory } from './placement.js';
import type { RunFacts } from './report.js';
import { GpuStore, HostStore, type Operand } from './store.js';
import { HostArrays } from './host-arrays.js';
import type { PerfComm } from './sweep.js';
import { rankReduceOp } from './names.js';
import type { PerfSwitch } from './switch.js';
import { predictedCall } from './prediction.js';

export interface OpenRanks {
  readonly comms: readonly PerfComm[];
  /** The communicators themselves (--calibrate runs on them). */
  readonly communicators: readonly Communicator[];
  readonly facts: RunFacts;
  readonly storeFactory: (dtype: DataType) => StoreFactory;
  close(): Promise<void>;
}

/**
 * Runs the collective of `shape` on a webccl communicator (sendrecv: to the next rank, from the
 * previous); `algorithm` (--versus) overrides the communicator's for this call.
 */
function runCollective(comm: Communicator, shape: CallShape, send: Operand, recv: Operand, algorithm?: string): Promise<void> {
  const { dtype, root } = shape;
  const op = rankReduceOp(shape.op, comm.rank);
  const count = shape.layout.callCount;
  const options = algorithm === undefined ? undefined : { algorithm };
  switch (shape.collective) {
    case 'allreduce': return comm.allReduce(send, recv, count, dtype, op, options);
    case 'allgather': return comm.allGather(send, recv, count, dtype, options);
    case 'reducescatter': return comm.reduceScatter(send, recv, count, dtype, op, options);
    case 'broadcast': return comm.broadcast(send, recv, count, dtype, root, options);
    case 'reduce': return comm.reduce(send, recv, count, dtype, op, root, options);
    case 'alltoall': return comm.allToAll(send, recv, count, dtype);
    case 'sendrecv': {
      comm.groupStart();
      const sent = comm.send(send, count, dtype, (comm.rank + 1) % comm.size);
      const received = comm.recv(recv, count, dtype, (comm.rank - 1 + comm.size) % comm.size);
      return comm.groupEnd().then(() => Promise.all([sent, received])).then(() => undefined);
    }
  }
}

function asPerfComm(comm: Communicator): PerfComm {
  return {
    rank: comm.rank,
    size: comm.size,
    run: (shape, send, recv, algorithm) => runCollective(comm, shape, send, recv, algorithm),
    allGather: (async (values: Float32Array | Uint32Array) => {
      const out = new (values.constructor as Float32ArrayConstructor | Uint32ArrayConstructor)(values.length * comm.size);
      await comm.allGather(values, out, values.length, values instanceof Float32Array ? 'float32' : 'uint32');
      return out;
    }) as PerfComm['allGather'],
    barrier: () => comm.barrier(),
    bytesSent: () => comm.bytesSent,
    predict: (shape) => predictedCall(comm.config, shape, comm.device ? 'gpu' : 'cpu'),
    tune: () => comm.tune().then(() => undefined),
  };
}

/** --mem: gpu needs an adapter; auto takes one when there is one. */
async function openDevice(options: PerfOptions): Promise<GPUDevice | undefined> {
  if (options.mem === 'cpu') return undefined;
  try {
    return await createNodeDevice();
  } catch (error) {
    if (options.mem === 'gpu') throw error;
    return undefined;
  }
}

function envSize(): number | undefined {
  const raw = process.env['WORLD_SIZE'];
  return raw === undefined ? undefined : Number(raw);
}

/**
 * A rank started by a launcher or by hand (RANK, WORLD_SIZE set) joins the world the environment
 * names, over the transport the options name. With WEBCCL_ID the id's scheme decides, so a
 * different --transport is an error that names both; with MASTER_ADDR/MASTER_PORT the id is made
 * by the provider of WEBCCL_TRANSPORT, which --transport therefore sets for this process.
 */
function joinFromEnv(options: PerfOptions, common: Parameters<typeof Communicator.fromEnv>[0]): Promise<Communicator> {
  const id = process.env['WEBCCL_ID'];
  if (id !== undefined && id !== '') {
    const named = providerForId(id).transport;
    if (named !== options.transport) {
      throw new Error(`WEBCCL_ID is a ${named} world id but the transport is ${options.transport} (--transport, else WEBCCL_TRANSPORT, else websocket): make them agree`);
    }
  } else {
    process.env['WEBCCL_TRANSPORT'] = options.transport;
  }
  return Communicator.fromEnv(common);
}

async function openCommunicators(options: PerfOptions, device: GPUDevice | undefined, switchInit: PerfSwitch['init'] | undefined): Promise<Communicator[]> {
  const common = {
    algorithm: options.algorithm, compression: options.compression, ...(device !== undefined ? { device } : {}), ...switchInit,
    ...(options.switchVia === undefined ? {} : { switchVia: options.switchVia }),
  };
  if (transportNamed(options.transport)?.rendezvous === false) {
    if (process.env['RANK'] !== undefined && options.np === undefined) {
      throw new Error(`--transport ${options.transport} runs every rank in this one process: use --np N instead of a launcher`);
    }
    const size = options.np ?? 1;
    const id = await getUniqueId({ transport: options.transport });
    return Promise.all(Array.from({ length: size }, (_, rank) => Communicator.init({ id, rank, size, ...common })));
  }
  if (process.env['RANK'] !== undefined) return [await joinFromEnv(options, common)];
  if ((envSize() ?? 1) !== 1) throw new Error('WORLD_SIZE is set but RANK is not');
  const id = await getUniqueId({ transport: options.transport });
  return [await Communicator.init({ id, rank: 0, size: 1, ...common })];
}

export async function openRanks(options: PerfOptions, switchInit?: PerfSwitch['init']): Promise<OpenRanks> {
  const device = await openDevice(options);
  const comms = await openCommunicators(options, device, switchInit);
  const first = comms[0]!;
  // Host buffers are this process's: any of its communicators allocates them for every one.
  // Plain host arrays are reused from one measurement to the next (host-arrays.ts).
  const arrays = new HostArrays();
  const hostBuffers = options.hostBuffers ? { alloc: (bytes: number) => first.allocHostBuffer(bytes), free: (buffer: ArrayBuffer) => first.freeHostBuffer(buffer) } : undefined;
  return {
    comms: comms.map(asPerfComm),
    communicators: comms,
    facts: {
      ranks: first.size, transport: first.transport.description, algorithm: options.algorithm,
      mem: device !== undefined ? 'gpu' : 'cpu', device: device !== undefined ? adapterName(device) : 'cpu',
      bufferutil: bufferutilLoaded(),
      prediction: first.config.tuning
        ? `calibrated parameters (tuning digest ${first.config.tuning.digest.slice(0, 12)})`
        : 'default parameters (uncalibrated: webccl-perf --calibrate FILE, then WEBCCL_TUNING_FILE=FILE)',
    },
    storeFactory: (dtype) => (length) => (device !== undefined ? new GpuStore(device, dtype, length) : new HostStore(dtype, length, hostBuffers, arrays)),
    async close() {
      await Promise.all(comms.map((comm) => comm.destroy()));
      device?.destroy();
    },
  };
}
