// One rank in its own process for the tests that time how long a process lives after destroy():
// joins through Communicator.fromEnv, runs one allReduce, reports, then destroys when its parent
// writes a line on stdin, reports the time, and ends by itself (no process.exit): whatever still
// holds the event loop shows up as a late exit.
import { Communicator } from '../../lib/index.node.js';

const comm = await Communicator.fromEnv();
const report = (event: Record<string, unknown>) => console.log(JSON.stringify({ rank: comm.rank, ...event }));
// Never outlive a test that forgot us (unreferenced: it must not be what keeps us alive).
setTimeout(() => { report({ event: 'expired' }); process.exit(3); }, 120_000).unref();
const data = Float32Array.of(comm.rank + 1);
await comm.allReduce(data, data, 1, 'float32', 'sum');
report({ event: 'reduced', sum: data[0] });
process.stdin.once('data', () => {
  process.stdin.destroy();
  void comm.destroy().then(() => report({ event: 'destroyed', at: Date.now() }));
});
