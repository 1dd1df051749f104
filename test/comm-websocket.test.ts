// The collective matrix over the websocket transport: ranks in this process joined by a real
// rendezvous and a real socket mesh (the multi-process runs are in comm-processes.test.ts).
import { test } from 'uvu';
import '../lib/index.node.js'; // registers the webccl:// (websocket) world
import { registerCollectiveMatrix } from './helpers/collective-matrix.js';

registerCollectiveMatrix('websocket');
test.run();
