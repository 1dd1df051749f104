// What both webccl/tfjs entries export.
export { useWebgpuBackend, sharesDevice, tfjsDevice } from './backend.js';
export { allReduceGradients, type GradientOptions } from './gradients.js';
export { broadcastVariables, type BroadcastOptions, type VariableList } from './broadcast.js';
export { DistributedOptimizer } from './optimizer.js';
export { planBuckets, DEFAULT_BUCKET_BYTES, type Bucket } from './buckets.js';
export type { NamedTensor, TensorList } from './tensors.js';
