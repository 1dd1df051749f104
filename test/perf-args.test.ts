import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePerfArgs, type PerfOptions } from '../bench/perf/args.js';
import { parseBytes, sweepSizes } from '../bench/perf/sizes.js';
import { parseCollective, parseDataTypes } from '../bench/perf/names.js';

function parse(...argv: string[]): PerfOptions {
  const options = parsePerfArgs(argv);
  if (options === 'help' || options === 'version') throw new Error(`unexpected ${options}`);
  return options;
}

test('sizes: plain bytes and binary suffixes', () => {
  assert.is(parseBytes('8'), 8);
  assert.is(parseBytes('64K'), 65536);
  assert.is(parseBytes('128M'), 128 * 1024 * 1024);
  assert.is(parseBytes('1G'), 1024 ** 3);
  assert.is(parseBytes('2m'), 2 * 1024 * 1024);
  assert.is(parseBytes('4KiB'), 4096);
  assert.is(parseBytes('1.5K'), 1536);
  assert.throws(() => parseBytes('12Q'), /"12Q" is not a size/);
  assert.throws(() => parseBytes('1.3'), /whole number/);
});

test('sizes: factor and additive sweeps follow nccl-tests', () => {
  assert.equal(sweepSizes({ minBytes: 8, maxBytes: 64, stepFactor: 2, stepBytes: 1 << 20 }), [8, 16, 32, 64]);
  assert.equal(sweepSizes({ minBytes: 1000, maxBytes: 3500, stepFactor: 1, stepBytes: 1000 }), [1000, 2000, 3000]);
  assert.equal(sweepSizes({ minBytes: 32, maxBytes: 32, stepFactor: 1, stepBytes: 1 << 20 }), [32]);
  assert.throws(() => sweepSizes({ minBytes: 8, maxBytes: 16, stepFactor: 1, stepBytes: 0 }), /never advances/);
  assert.throws(() => sweepSizes({ minBytes: 0, maxBytes: 16, stepFactor: 2, stepBytes: 0 }), /from 0 bytes/);
});

test('args: nccl-tests defaults', () => {
  const o = parse('allreduce');
  assert.is(o.collective, 'allreduce');
  assert.is(o.minBytes, 32 * 1024 * 1024);
  assert.is(o.maxBytes, 32 * 1024 * 1024);
  assert.is(o.iters, 20);
  assert.is(o.check, true);
  assert.equal(o.ops, ['sum']);
  assert.equal(o.dtypes, ['float32']);
  assert.is(o.average, 1);
});

test('args: every nccl-tests flag, short, glued and long', () => {
  const o = parse('allgather', '-b', '8', '-e128M', '-f', '2', '-n', '5', '-w', '0', '-c', '0', '-o', 'max', '-d', 'half',
    '-r', '1', '-a', '3', '-J', 'out.json', '--np', '4', '--transport', 'inproc', '--algo=tree', '--mem', 'cpu');
  assert.is(o.minBytes, 8);
  assert.is(o.maxBytes, 128 * 1024 * 1024);
  assert.is(o.stepFactor, 2);
  assert.is(o.iters, 5);
  assert.is(o.warmup, 0);
  assert.is(o.check, false);
  assert.equal(o.ops, ['max']);
  assert.equal(o.dtypes, ['float16']);
  assert.is(o.root, 1);
  assert.is(o.average, 3);
  assert.is(o.jsonFile, 'out.json');
  assert.is(o.np, 4);
  assert.is(o.transport, 'inproc');
  assert.is(o.algorithm, 'tree');
  assert.is(o.mem, 'cpu');
  const long = parse('reduce', '--minbytes=1K', '--maxbytes', '1M', '--stepbytes', '4K', '--warmup_iters', '2', '--datatype', 'bfloat16', '--op', 'avg', '-np', '2');
  assert.is(long.minBytes, 1024);
  assert.is(long.stepBytes, 4096);
  assert.is(long.warmup, 2);
  assert.equal(long.dtypes, ['bfloat16']);
  assert.equal(long.ops, ['avg']);
  assert.is(long.np, 2);
});

test('args: names from nccl-tests and webccl both work; all expands', () => {
  assert.is(parseCollective('all_reduce_perf'), 'allreduce');
  assert.is(parseCollective('reduceScatter'), 'reducescatter');
  assert.is(parseCollective('sendrecv'), 'sendrecv');
  assert.equal(parseDataTypes('float'), ['float32']);
  assert.equal(parseDataTypes('float32'), ['float32']);
  assert.equal(parseDataTypes('uint32'), ['uint32']);
  assert.equal(parseDataTypes('all'), ['float32', 'float16', 'bfloat16', 'int32', 'uint32']);
  assert.equal(parse('allreduce', '-o', 'all').ops, ['sum', 'prod', 'min', 'max', 'avg', 'mulsum']);
});

test('args: -Z/--compression picks a codec; a lossy one turns validation off', () => {
  assert.is(parse('allreduce').compression, 'none');
  assert.is(parse('allreduce', '-Z', 'bf16').compression, 'bf16');
  assert.is(parse('allreduce', '-Z', 'bf16').check, false);
  assert.is(parse('allreduce', '--compression=INT8', '-c', '1').check, false);
  assert.is(parse('allreduce', '--compression', 'none').check, true);
  assert.throws(() => parse('allreduce', '-Z', 'zip'), /--compression must be one of none, bf16, fp16, int8, onebit, switchml/);
});

test('args: --host-buffers switches the CPU buffers to host buffers (off by default)', () => {
  assert.is(parse('allgather').hostBuffers, false);
  assert.is(parse('allgather', '--host-buffers', '--np', '4').hostBuffers, true);
});

test('args: mistakes are errors that name the flag', () => {
  assert.throws(() => parse('allreduce', '-q', '1'), /unknown option -q/);
  assert.throws(() => parse('allreduce', '--frobnicate'), /unknown option --frobnicate/);
  assert.throws(() => parse('allreduce', '-b'), /-b needs a value/);
  assert.throws(() => parse('allreduce', '-b', 'lots'), /-b: "lots" is not a size/);
  assert.throws(() => parse('allreduce', '-n', '0'), /-n needs an integer >= 1/);
  assert.throws(() => parse('allreduce', '-a', '7'), /-a must be 0, 1, 2 or 3/);
  assert.throws(() => parse('allreduce', '-o', 'xor'), /unknown op "xor"/);
  assert.throws(() => parse('allreduce', '-d', 'int8'), /dtype int8 is not supported by webccl/);
  assert.throws(() => parse('allreduce', '-d', 'quux'), /unknown dtype "quux"/);
  assert.throws(() => parse('allreduce', '--transport', 'carrier-pigeon'), /--transport must be one of inproc, websocket, tcp/);
  assert.is((parse('allreduce', '--transport', 'tcp') as { transport: string }).transport, 'tcp');
  assert.throws(() => parse('allreduce', '-b', '1M', '-e', '1K'), /-b \(1048576\) is above -e \(1024\)/);
  assert.throws(() => parse('allmangle'), /unknown collective "allmangle"/);
  assert.throws(() => parse('-b', '8'), /name the collective first/);
  assert.throws(() => parse('allreduce', 'stray'), /unexpected argument "stray"/);
  assert.is(parsePerfArgs(['allreduce', '--help']), 'help');
  assert.throws(() => parse('allreduce', '--switch', 'nowhere'), /switch address 'nowhere' is not host:port/);
  const switched = parse('allreduce', '--algo', 'switch', '--switch', '127.0.0.1:48864') as { algorithm: string; switch: string };
  assert.equal([switched.algorithm, switched.switch], ['switch', '127.0.0.1:48864']);
});

test.run();
