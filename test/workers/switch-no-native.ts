// Run with WEBCCL_NATIVE=0 by test/switch-native.test.ts: the switch starts on the TypeScript
// data plane (auto), a 2-worker job is exact, and asking for the native plane names the reason.
import { SwitchServer } from '../../lib/switch/switch-server.js';
import { int32Sum, joinJob, randomInt32 } from '../helpers/switch-job.js';

const server = await SwitchServer.start({ port: 0 });
const workers = await joinJob(server, 2);
const inputs = workers.map((_, r) => randomInt32(5000, r + 1));
const got = await Promise.all(workers.map((w, r) => w.allReduce(inputs[r]!)));
const exact = got.every((g) => g.every((v, i) => v === int32Sum(inputs)[i]));
for (const w of workers) w.close();
await server.close();
const refused = await SwitchServer.start({ port: 0, dataPlane: 'native' }).then(() => 'started', (error: Error) => error.message);
console.log(JSON.stringify({ plane: server.dataPlane, counted: server.counters().dataPlane, exact, refused }));
