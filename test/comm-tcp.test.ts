// The collective matrix over the raw tcp transport: ranks in this process joined by a real
// rendezvous and a real tcp mesh (the multi-process runs are in comm-processes.test.ts).
import { test } from 'uvu';
import '../lib/index.node.js'; // registers the webccl+tcp:// world
import { registerCollectiveMatrix } from './helpers/collective-matrix.js';

registerCollectiveMatrix('tcp');
test.run();
