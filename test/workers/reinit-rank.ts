// One rank that forms its world FORMATIONS times in a row through Communicator.fromEnv, as a
// training script does with destroy_process_group then init_process_group on the same address:
// each formation allReduces an input that names it, checks the sum, reports a JSON line and
// destroys. Rank 0 lingers LINGER_MS before each destroy, so that the others come back to the
// rendezvous first, while the last formation's store entries are still there.
import { Communicator } from '../../lib/index.node.js';

const formations = Number(process.env['FORMATIONS'] ?? '3');
const lingerMs = Number(process.env['LINGER_MS'] ?? '300');
setTimeout(() => { console.log(JSON.stringify({ event: 'expired' })); process.exit(3); }, 60_000).unref();

for (let formation = 0; formation < formations; formation++) {
  const comm = await Communicator.fromEnv();
  const count = 1001;
  const data = Float32Array.from({ length: count }, (_, i) => (comm.rank + 1) * (formation + 1) + (i % 5));
  await comm.allReduce(data, data, count, 'float32', 'sum', { algorithm: 'ring' });
  const ranks = comm.size;
  const wrong = data.findIndex((value, i) => value !== ((ranks * (ranks + 1)) / 2) * (formation + 1) + ranks * (i % 5));
  console.log(JSON.stringify({ event: 'reduced', rank: comm.rank, formation, description: comm.transport.description, wrong }));
  if (comm.rank === 0) await new Promise((resolve) => setTimeout(resolve, lingerMs));
  await comm.destroy();
}
process.exit(0);
