// The Node.js entry: the core API plus what only Node can do (Dawn's WebGPU through the
// `webgpu` package, listening sockets, spawning ranks).
export * from './index.core.js';
export { createNodeDevice } from './gpu/node-device.js';
