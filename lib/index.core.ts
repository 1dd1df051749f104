// What both entries (Node and browser) export. Platform-neutral: standard JS and the
// WebGPU globals only.
export * from './dtype.js';
export * from './errors.js';
export { readSettings, type Settings, type LogLevel } from './settings.js';
export type { Transport, Header, Message, Signature, CollectiveKind } from './transport/transport.js';
