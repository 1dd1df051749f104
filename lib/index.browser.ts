// The browser entry: the same API as the Node entry, on navigator.gpu and the browser's own
// WebSocket. Must never import a Node module (build.mjs bundles it for platform 'browser').
export * from './index.core.js';
