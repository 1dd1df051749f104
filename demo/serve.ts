// `npm run demo [-- --size N --port P --switch]`: the browser demo's server (demo-server.ts). Every tab
// that opens the printed URL joins as the next rank and trains MNIST with the others. With
// --switch the server hosts a switch and the page offers switch allreduce next to ring and tree.
import { parseArgs } from 'node:util';
import { startDemo } from './demo-server.js';

const { values } = parseArgs({ options: { size: { type: 'string', default: '2' }, port: { type: 'string', default: '0' }, switch: { type: 'boolean', default: false } } });
const size = Number(values.size);
const port = Number(values.port);
if (!Number.isInteger(size) || size < 1) throw new Error(`--size ${values.size} is not a positive integer`);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port} is not a port number`);

const demo = await startDemo({ port, switch: values.switch === true });
console.log(`webccl demo: open ${demo.origin}/?size=${size} in ${size} tabs (each tab becomes the next rank; Ctrl-C stops)`);
const stop = () => void demo.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
