// The `ws` package's classes, loaded through require rather than an ES import. ws is CommonJS:
// an ES import of it makes Node's ESM loader translate each of its files (cjs-module-lexer
// scans them for named exports) on top of loading them, where require only loads them. Every
// Node process of webccl loads ws at start (a rank's store client, a launcher's rendezvous),
// so that difference is paid once per process: 0.23 against 0.16 s of CPU for a process that
// loads ws and exits (Node 20, this repository's 2-vCPU host), about 0.6 s of CPU on 9 processes
// that start at once for an 8-rank `webccl-perf --np 8` (docs/PERFORMANCE.md, proc22).
// Type-only imports of 'ws' elsewhere cost nothing at run time and stay as they are.
import { createRequire } from 'node:module';
import type * as WsPackage from 'ws';

const ws = createRequire(import.meta.url)('ws') as typeof WsPackage;

export const WebSocket = ws.WebSocket;
export type WebSocket = WsPackage.WebSocket;
export const WebSocketServer = ws.WebSocketServer;
export type WebSocketServer = WsPackage.WebSocketServer;
export type ClientOptions = WsPackage.ClientOptions;
