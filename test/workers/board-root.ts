// A board rank in a process of its own (test/native-board-single-copy.test.ts): joins board
// argv[2] as rank argv[3] of argv[4], prints "running" and broadcasts argv[5] bytes from itself
// as the root (from a host buffer, allocHostBuffer, when argv[6] is `host-buffer`), then waits to be
// killed (its parent SIGKILLs it while a peer is about to read).
import { loadNative } from '../../lib/native/load.js';
import { NativeBoardSession } from '../../lib/native/board.js';
import { BOARD_BUFFER_BYTES } from '../../lib/transport/board.js';

const [name, rank, size, bytes, from] = process.argv.slice(2);
const load = loadNative();
if (!('addon' in load)) throw new Error('board-root: no addon');
const session = new NativeBoardSession(load.addon, name!, Number(rank), Number(size), BOARD_BUFFER_BYTES, 60_000);
const data = new Uint8Array(from === 'host-buffer' ? load.addon.allocHostBuffer!(Number(bytes)) : new ArrayBuffer(Number(bytes))).fill(7);
const call = session.forCall(1);
process.stdout.write('running\n');
void call.run(data, { collective: 'broadcast', dtype: 'uint32', root: Number(rank) }).catch(() => undefined);
setInterval(() => undefined, 1000);
