// A browser tab on wss://: `webccl serve`'s kind of rendezvous with a self-signed certificate
// (chromium told to trust exactly that key, as a user's browser would trust a real one), a tab
// and a Node rank (trusting it through WEBCCL_TLS_CA) in one webccl+relay+tls:// world,
// allreduce exact on both. Fails, never skips, when chromium is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Communicator, RendezvousServer } from '../lib/index.node.js';
import { formatUniqueId, parseUniqueId } from '../lib/rendezvous/unique-id.js';
import { Chromium } from './helpers/browser.js';
import { serveTestPage } from './helpers/browser-page.js';
import { rankExpression, type RankOutcome } from './helpers/browser-rank.js';
import { selfSigned } from './helpers/self-signed.js';
import { within } from './within.js';

const STEP_MS = 20_000;
const RANK_MS = 90_000;

test('a tab and a Node rank meet on a wss:// relay with a self-signed certificate', async () => {
  const tls = selfSigned();
  const server = await RendezvousServer.start({ tls: { cert: tls.cert, key: tls.key } });
  const page = await serveTestPage();
  const chromium = await Chromium.launch(STEP_MS, [`--ignore-certificate-errors-spki-list=${tls.spkiSha256}`]);
  process.env['WEBCCL_TLS_CA'] = tls.certPath;
  try {
    const id = formatUniqueId({ ...parseUniqueId(server.id), transport: 'relay' });
    assert.match(id, /^webccl\+relay\+tls:\/\//);
    const tab = await chromium.openTab(`${page.origin}/`, STEP_MS);
    const input = [1, 2, 3, 4, 5];
    const inTab = tab.evaluate<RankOutcome>(rankExpression({
      id, rank: 0, size: 2, timeoutMs: 30_000, runs: [{ dtype: 'int32', op: 'sum', placement: 'array', input }],
    }), RANK_MS, 'tab rank');
    const inNode = (async () => {
      const comm = await Communicator.init({ id, rank: 1, size: 2, timeoutMs: 30_000 });
      const data = Int32Array.from(input, (v) => v * 10);
      await comm.allReduce(data, data, data.length, 'int32', 'sum');
      await comm.destroy();
      return [...data];
    })();
    const [tabOutcome, nodeResult] = await within(Promise.all([inTab, inNode]), RANK_MS, 'both ranks');
    const expected = input.map((v) => v * 11);
    assert.equal(tabOutcome.outputs[0], expected);
    assert.equal(nodeResult, expected);
  } finally {
    delete process.env['WEBCCL_TLS_CA'];
    await Promise.allSettled([chromium.close(), page.close(), server.close()]);
    tls.remove();
  }
});

test.run();
