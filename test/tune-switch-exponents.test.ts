// The switch's traffic formula (lib/collectives/switch-allreduce.ts) follows where a float call's
// exponents are agreed, as the communicator decides it (exponentsInStream: the setting and the
// communicator's size): over the link, an exchange (one hop, a message to each peer) and int32
// packets only; in the stream, SwitchML's lead of min(W, chunks) header-only packets a piece,
// counted at their bytes' share of a data packet, and its round trip (two hops) instead of the
// exchange. The model (lib/tune/model.ts) and the choice (lib/tune/select.ts) pass the setting
// through, for float dtypes only: int32 agrees no exponents.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codecNamed } from '../lib/collectives/codecs.js';
import { STREAM_EXPONENTS_RANKS, switchAllReduceTraffic } from '../lib/collectives/switch-allreduce.js';
import { predictSeconds } from '../lib/tune/model.js';
import { DEFAULT_COST_PARAMS, type CostParams } from '../lib/tune/params.js';
import { chooseAlgorithm, switchTermsOf, type TuningConfig } from '../lib/tune/select.js';
import { HEADER_BYTES } from '../lib/switch/packet.js';

const VALUES = 4096;
const MIB = 1 << 20;
// 1 MiB of float32 at 4096 values a packet: 64 data packets in one piece, a lead of min(256, 64).
const DATA = MIB / 4 / VALUES;
const LEAD_SHARE = HEADER_BYTES / (HEADER_BYTES + 4 * VALUES);
const call = (ranks: number, switchExponents?: 'link' | 'stream' | 'auto') => ({ bytes: MIB, ranks, chunkBytes: MIB, switchPacketValues: VALUES, ...(switchExponents && { switchExponents }) });

test('over the link: the exchange\'s hop and a message to each peer, data packets only', () => {
  const link = { messages: 3, sends: 8, linkBytes: MIB, reducedBytes: 0, packets: DATA };
  assert.equal(switchAllReduceTraffic(call(8, 'link')), link);
  assert.equal(switchAllReduceTraffic(call(8)), link, 'no setting: the link');
  assert.equal(switchAllReduceTraffic(call(STREAM_EXPONENTS_RANKS - 1, 'auto')), { ...link, sends: STREAM_EXPONENTS_RANKS - 1 }, '\'auto\' below STREAM_EXPONENTS_RANKS');
});

test('in the stream: the lead\'s round trip instead of the exchange, its header-only packets at their bytes\' share', () => {
  const stream = { messages: 4, sends: 1, linkBytes: MIB, reducedBytes: 0, packets: DATA + DATA * LEAD_SHARE };
  assert.equal(switchAllReduceTraffic(call(STREAM_EXPONENTS_RANKS, 'auto')), stream, '\'auto\' from STREAM_EXPONENTS_RANKS');
  assert.equal(switchAllReduceTraffic(call(2, 'stream')), stream, '\'stream\' at any size');
  // Past a window of chunks the lead stays at W = 256 a piece (4 MiB: 256 data packets, 256 headers).
  assert.equal(switchAllReduceTraffic({ ...call(8, 'stream'), bytes: 4 * MIB }).packets, 4 * DATA + 256 * LEAD_SHARE);
  // At 64 values a packet a header is a larger share: 10 of 266 bytes.
  const small = switchAllReduceTraffic({ ...call(8, 'stream'), bytes: 64 * 4 * 10, switchPacketValues: 64 });
  assert.is(small.packets, 10 + 10 * (HEADER_BYTES / (HEADER_BYTES + 4 * 64)));
});

// Unit prices, so that each term shows: α 1, o 10, π 1000 a packet, nothing else.
const unit: CostParams = { ...DEFAULT_COST_PARAMS, call: 0, alpha: 1, overhead: 10, beta: 0, gamma: 0, switchPacket: 1000, switchRoundTrip: 0 };

test('the model prices the mode the call will run in: at 8 ranks \'auto\' saves 7 sends, pays a hop and the lead\'s bytes', () => {
  const model = (ranks: number, switchExponents?: 'link' | 'stream' | 'auto') => predictSeconds('switch', { collective: 'allReduce', ...call(ranks, switchExponents) }, unit)!;
  const link = model(8, 'link');
  const auto = model(8, 'auto');
  assert.ok(Math.abs(link - auto - (7 * 10 - 1 - 1000 * DATA * LEAD_SHARE)) < 1e-9, `link ${link} - auto ${auto}`);
  assert.is(model(STREAM_EXPONENTS_RANKS - 1, 'auto'), model(STREAM_EXPONENTS_RANKS - 1, 'link'), 'below STREAM_EXPONENTS_RANKS the same price');
  assert.ok(model(STREAM_EXPONENTS_RANKS, 'auto') !== model(STREAM_EXPONENTS_RANKS, 'link'), 'from STREAM_EXPONENTS_RANKS the stream\'s price');
});

test('the choice passes the setting for float dtypes only (int32 agrees no exponents): its prediction is the mode\'s', () => {
  assert.equal(switchTermsOf({ switchPacketValues: VALUES, switchExponents: 'auto' }, 'float32'), { switchPacketValues: VALUES, switchExponents: 'auto' });
  assert.equal(switchTermsOf({ switchPacketValues: 'auto', switchExponents: 'stream' }, 'bfloat16'), { switchExponents: 'stream' });
  assert.equal(switchTermsOf({ switchPacketValues: VALUES, switchExponents: 'stream' }, 'int32'), { switchPacketValues: VALUES });
  assert.equal(switchTermsOf({ switchExponents: 'auto' }), { switchExponents: 'auto' }, 'no dtype (calibration\'s float32 runs)');
  // Named 'switch' with a codec offered: the model prices it (the identity codec costs nothing).
  const config: TuningConfig = {
    algorithm: 'switch', treeThresholdBytes: 0, directThresholdBytes: 0, chunkBytes: MIB, switch: '127.0.0.1:48864', switchPacketValues: VALUES, switchExponents: 'auto',
    tuning: { params: unit, digest: 'x' },
  };
  const predicted = (dtype: 'float32' | 'int32') => chooseAlgorithm('allReduce', MIB, 8, config, undefined, { dtype, op: 'sum' }, { codecs: [codecNamed('none')!] }).predicted;
  const priced = (switchExponents: 'link' | 'stream') => predictSeconds('switch', { collective: 'allReduce', ...call(8, switchExponents) }, unit);
  assert.is(predicted('float32'), priced('stream'));
  assert.is(predicted('int32'), priced('link'));
});

test.run();
