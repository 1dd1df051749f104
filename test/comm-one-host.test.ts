// Whether every rank is on one host, agreed at bootstrap from the host names of the hellos
// (AgreedConfig.oneHost): calibration then times host work once and runs no slow-link probe
// (lib/tune/calibrate.ts, inTurn), where ranks on a host each would only see each other's turns
// on its cores. Over tcp, host names faked with the hostId init option.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../lib/index.node.js'; // registers the tcp world
import { Communicator, getUniqueId } from '../lib/comm/communicator.js';
import { calibrationComm } from '../lib/comm/tuning.js';
import { hostIdOf } from '../lib/comm/host-groups.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { destroyWorld } from './helpers/comm-world.js';
import { within } from './within.js';

async function world(hosts: readonly string[]): Promise<Communicator[]> {
  const id = await getUniqueId({ transport: 'tcp' });
  return within(Promise.all(hosts.map((hostId, rank) => Communicator.init({ id, rank, size: hosts.length, hostId, timeoutMs: 30_000 }))), 30_000, 'world');
}

for (const [hosts, one] of [[['a', 'a', 'a'], true], [['a', 'a', 'b'], false], [['a', '', 'a'], false]] as const) {
  test(`ranks naming hosts ${JSON.stringify(hosts)}: ${one ? 'one host' : 'not one host'} on every rank, and calibration sees it so`, async () => {
    const comms = await world(hosts);
    try {
      for (const comm of comms) {
        assert.is(comm.config.oneHost === true, one, `rank ${comm.rank}: ${JSON.stringify(comm.config)}`);
        assert.is(calibrationComm(comm).oneHost, one, `rank ${comm.rank}'s calibration view`);
      }
    } finally {
      await destroyWorld(comms);
    }
  });
}

test("a rank that names no host is on its machine's: the name and (on Linux) the boot id, so two machines of one default name are two hosts", () => {
  let boot = '';
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch { /* no /proc */ }
  assert.is(hostIdOf(undefined), boot === '' ? hostname() : `${hostname()}@${boot}`);
  assert.is(hostIdOf('given'), 'given');
});

test.run();
