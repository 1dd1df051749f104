// Run by test/native-shm.test.ts inside `unshare -m` with a 6 MiB tmpfs on /dev/shm (a
// container's small --shm-size): the first 4 MiB ring fits, the second must be refused at
// creation with a clear error, not crash the process with SIGBUS at a later write.
import { loadNative } from '../../lib/native/load.js';
import { ShmContext } from '../../lib/native/shm.js';

const loaded = loadNative();
if (!('addon' in loaded)) throw new Error('shm-full: no addon');
const context = new ShmContext(loaded.addon, 'f'.repeat(32));
const attempt = (label: string) => { try { context.createEndpoint(label); return 'created'; } catch (error) { return (error as Error).message; } };
const first = attempt('0-1');
const second = attempt('0-2');
context.destroy();
console.log(JSON.stringify({ first, second }));
