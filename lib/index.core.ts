// What both entries (Node and browser) export. Platform-neutral: standard JS and the
// WebGPU globals only.
export * from './dtype.js';
export * from './errors.js';
export { readSettings, type Settings, type LogLevel } from './settings.js';
export type { Transport, Header, Message, Signature, CollectiveKind } from './transport/transport.js';
export { Communicator, getUniqueId, type InitOptions } from './comm/communicator.js';
export type { SwitchVia } from './comm/switch-access.js';
// A SwitchML switch's worker, for aggregating without a communicator: by UDP in Node, through
// the switch's WebSocket door anywhere (via: 'websocket'; browsers have only this one).
export { SwitchWorker, type SwitchWorkerOptions, type WorkerCounters as SwitchWorkerCounters } from './switch/worker.js';
export type { CommBuffer, GpuBufferRange } from './memory/buffers.js';
export type { CallOptions } from './comm/plans.js';
export type { TunedCall, TuneOptions } from './comm/tuned-calls.js';
export type { FeedbackKey } from './comm/error-feedback.js';
export { CODECS, codecNamed } from './collectives/codecs.js';
export type { Codec } from './memory/codec.js';
export type { AgreedConfig } from './comm/config.js';
export { registerWorldProvider, type WorldProvider, type UniqueIdOptions } from './transport/world.js';
export { connectInproc, InprocTransport } from './transport/inproc.js';
// Kernels. CPU layer: the fallback without a GPU (and the GPU's test oracle). GPU layer: runs on
// a caller's GPUDevice through its GpuContext; prepare* checks a call and returns its Recorder
// (several recorded into one encoder make one submission: ctx.run((e) => { a(e); b(e); })),
// encode* records into an encoder, gpu* submits on its own.
export { requestGpuDevice, type DeviceOptions } from './gpu/device.js';
export { GpuContext } from './gpu/context.js';
export { region, type GpuRegion } from './gpu/region.js';
export { readRegion, writeRegion } from './gpu/transfer.js';
export type { KernelOptions } from './gpu/options.js';
export type { Recorder } from './gpu/kernel.js';
export { reduceAccumulate, reduceNary, premultiply, finishAverage } from './cpu/reduce.js';
export { castFromFloat32, castToFloat32, type HalfType } from './cpu/cast.js';
export { packBits, unpackBits, packedWords, type LaneBits } from './cpu/bitpack.js';
export { f32ToF16Bits, f16BitsToF32, f32ToBf16Bits, bf16BitsToF32 } from './cpu/half.js';
export {
  prepareReduceAccumulate, prepareReduceNary, preparePremultiply, prepareFinishAverage,
  encodeReduceAccumulate, encodeReduceNary, encodePremultiply, encodeFinishAverage,
  gpuReduceAccumulate, gpuReduceNary, gpuPremultiply, gpuFinishAverage,
} from './gpu/reduce.js';
export {
  prepareCastFromFloat32, prepareCastToFloat32, encodeCastFromFloat32, encodeCastToFloat32, gpuCastFromFloat32, gpuCastToFloat32,
} from './gpu/cast.js';
export { preparePackBits, prepareUnpackBits, encodePackBits, encodeUnpackBits, gpuPackBits, gpuUnpackBits } from './gpu/bitpack.js';
// Quantization codecs (formats, precision bounds and the SwitchML no-overflow proof: lib/cpu/*.ts).
export {
  switchmlBlockExponents, switchmlMergeExponents, switchmlHasNonFinite, switchmlQuantize, switchmlDequantize,
  switchmlWorkerBudget, SWITCHML_MIN_EXPONENT, SWITCHML_MAX_EXPONENT, SWITCHML_NONFINITE_EXPONENT,
} from './cpu/switchml.js';
export { int8Quantize, int8Dequantize, int8PackedWords, type Int8Blocks } from './cpu/int8.js';
export { onebitCompress, onebitDecompress, onebitSignWords, type OnebitBlocks } from './cpu/onebit.js';
export {
  prepareSwitchmlBlockExponents, prepareSwitchmlQuantize, prepareSwitchmlDequantize,
  encodeSwitchmlBlockExponents, encodeSwitchmlQuantize, encodeSwitchmlDequantize,
  gpuSwitchmlBlockExponents, gpuSwitchmlQuantize, gpuSwitchmlDequantize,
  type SwitchmlExponentsArgs, type SwitchmlQuantizeArgs, type SwitchmlDequantizeArgs,
} from './gpu/switchml.js';
export {
  prepareInt8Quantize, prepareInt8Dequantize,
  encodeInt8Quantize, encodeInt8Dequantize, gpuInt8Quantize, gpuInt8Dequantize, type Int8QuantizeArgs, type Int8DequantizeArgs,
} from './gpu/int8.js';
export {
  prepareOnebitCompress, prepareOnebitDecompress,
  encodeOnebitCompress, encodeOnebitDecompress, gpuOnebitCompress, gpuOnebitDecompress,
  type OnebitCompressArgs, type OnebitDecompressArgs,
} from './gpu/onebit.js';
// Rendezvous ids and platform-neutral clients (inject a WebSocket constructor where there is no global one).
export { formatUniqueId, parseUniqueId, generateSecret, type UniqueId } from './rendezvous/unique-id.js';
export { StoreClient, type StoreClientOptions } from './rendezvous/store-client.js';
export type { WebSocketConstructor, WebSocketLike } from './transport/handshake/web-socket-like.js';
export { connectRelay, type RelayTransportOptions } from './rendezvous/relay-client.js';
// The cost model and its calibration (lib/tune): webccl-perf --calibrate / --explain use them.
export { calibrate, type CalibrationComm, type Calibration } from './tune/calibrate.js';
export { candidates, predictSeconds, type ModelCall, type Candidate } from './tune/model.js';
export { DEFAULT_COST_PARAMS, defaultCostParams, NATIVE_CODEC_RATES, TYPESCRIPT_CODEC_RATES, type CostParams, type GpuCostParams } from './tune/params.js';
export { readTuning, tuningFileText, type TuningFile, type TuningWorld } from './tune/tuning-file.js';
