// What both entries (Node and browser) export. Platform-neutral: standard JS and the
// WebGPU globals only.
export * from './dtype.js';
export * from './errors.js';
export { readSettings, type Settings, type LogLevel } from './settings.js';
export type { Transport, Header, Message, Signature, CollectiveKind } from './transport/transport.js';
export { Communicator, getUniqueId, type InitOptions } from './comm/communicator.js';
export type { CommBuffer, GpuBufferRange } from './comm/buffers.js';
export type { CallOptions } from './comm/plans.js';
export type { AgreedConfig } from './comm/config.js';
export { registerWorldProvider, type WorldProvider, type UniqueIdOptions } from './comm/world.js';
export { connectInproc, InprocTransport } from './transport/inproc.js';
