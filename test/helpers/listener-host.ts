// The test side of test/workers/listener-host.ts: starts it, finds the ports it listens on
// (rendezvous, websocket mesh, tcp mesh), asks it for its memory, and plays rank 1 of its two
// worlds to prove that a correct job still works on those ports after an attack.
import { spawn, type ChildProcess } from 'node:child_process';
import * as assert from 'uvu/assert';
import { Communicator } from '../../lib/index.node.js';
import { StoreClient } from '../../lib/rendezvous/store-client.js';
import { nodeWebSocket } from '../../lib/transport/handshake/node-web-socket.js';
import { parseUniqueId } from '../../lib/rendezvous/unique-id.js';
import { meshAddressKey } from '../../lib/rendezvous/form-mesh.js';
import { within } from '../within.js';

export interface Port {
  readonly host: string;
  readonly port: number;
}

type Event = Record<string, unknown> & { event: string };

export class ListenerHost {
  id = '';
  tcpId = '';
  rendezvous!: Port;
  wsMesh!: Port;
  tcpMesh!: Port;
  private readonly events: Event[] = [];
  private readonly wakers: (() => void)[] = [];
  private tail = '';

  private constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.trim()) this.events.push(JSON.parse(line) as Event);
      this.wake();
    });
    child.stderr!.on('data', (chunk: Buffer) => { this.tail = (this.tail + chunk.toString()).slice(-4096); });
    child.once('exit', () => this.wake());
  }

  /** `joinWithinMs`: how long rank 0 waits for rank 1 (the whole attack must fit). */
  static async start(joinWithinMs: number): Promise<ListenerHost> {
    const host = new ListenerHost(spawn(process.execPath, ['--expose-gc', '--import', './test/register.mjs', 'test/workers/listener-host.ts', String(joinWithinMs)], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const listening = await host.take('listening');
    host.id = listening['id'] as string;
    host.tcpId = listening['tcpId'] as string;
    const { host: rendezvousHost, port } = parseUniqueId(host.id);
    host.rendezvous = { host: rendezvousHost, port };
    const store = await within(StoreClient.connect({ id: host.id, WebSocket: nodeWebSocket(), timeoutMs: 10_000 }), 12_000, 'store');
    const address = async (kind: 'websocket' | 'tcp'): Promise<Port> => {
      const [at, port] = (await within(store.getString(meshAddressKey(kind, 'world', 2, 0), 15_000), 20_000, `${kind} mesh address`)).split(':');
      return { host: at!, port: Number(port) };
    };
    host.wsMesh = await address('websocket');
    host.tcpMesh = await address('tcp');
    store.close();
    return host;
  }

  /** The listening ports, each with what it speaks. */
  get ports(): { readonly name: string; readonly at: Port; readonly kind: 'websocket' | 'tcp' }[] {
    return [
      { name: 'rendezvous', at: this.rendezvous, kind: 'websocket' },
      { name: 'websocket mesh', at: this.wsMesh, kind: 'websocket' },
      { name: 'tcp mesh', at: this.tcpMesh, kind: 'tcp' },
    ];
  }

  assertAlive(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`listener host exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.tail}`);
  }

  /** Its process.memoryUsage() after a full GC. */
  async memory(): Promise<NodeJS.MemoryUsage> {
    this.child.stdin!.write('memory\n');
    return (await this.take('memory')) as unknown as NodeJS.MemoryUsage;
  }

  /** Joins both worlds as rank 1: each allreduce must come out right on both ranks. */
  async runJob(): Promise<void> {
    await within(Promise.all([this.id, this.tcpId].map(async (id) => {
      const comm = await Communicator.init({ id, rank: 1, size: 2, timeoutMs: 20_000 });
      const count = 1001;
      const data = Float32Array.from({ length: count }, (_, i) => 2 + (i % 7));
      await comm.allReduce(data, data, count, 'float32', 'sum');
      assert.is(data.findIndex((value, i) => value !== 3 + 2 * (i % 7)), -1, `rank 1's allreduce over ${id}`);
      await comm.destroy();
    })), 30_000, 'rank 1 joins and reduces');
    for (const transport of ['websocket', 'tcp']) {
      const reduced = await this.take('reduced', (event) => event['transport'] === transport);
      assert.is(reduced['wrong'], -1, `rank 0's ${transport} allreduce`);
    }
  }

  async stop(): Promise<void> {
    this.child.stdin!.end();
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
  }

  private wake(): void {
    this.wakers.splice(0).forEach((wake) => wake());
  }

  private take(name: string, matches: (event: Event) => boolean = () => true): Promise<Event> {
    return within(new Promise<Event>((resolve, reject) => {
      const look = () => {
        const failed = this.events.find((event) => event.event === 'failed');
        if (failed) return reject(new Error(`listener host: ${String(failed['message'])}`));
        const index = this.events.findIndex((event) => event.event === name && matches(event));
        if (index >= 0) resolve(this.events.splice(index, 1)[0]!);
        else if (this.child.exitCode !== null || this.child.signalCode !== null) reject(new Error(`listener host exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.tail}`));
        else this.wakers.push(look);
      };
      look();
    }), 30_000, `listener host: ${name}`);
  }
}
