// The UDP link of a switch worker (Node): a UDP socket for packets (worker-datagrams.ts: the
// addon's batched one, or Node's dgram) and a TCP control connection that carries the join, the
// welcome and the end of the job, one JSON message per line.
import { connect, type Socket } from 'node:net';
import { invalidUsage, systemError, timeoutError } from '../errors.js';
import { LineSplitter, parseSwitchAddress, parseSwitchMessage, type Join, type Welcome } from './control-protocol.js';
import { registerUdpLink, type LinkEvents, type OpenedLink } from './switch-link.js';
import { openWorkerDatagrams } from './worker-datagrams.js';
import './native-stream-codec.js'; // Node: the workers' streams may run the addon's codec

export async function openUdpLink(address: string, join: Join, name: string, timeoutMs: number, socket: 'native' | 'dgram' | 'auto' = 'auto'): Promise<OpenedLink> {
  const { host, port } = parseSwitchAddress(address);
  const udp = await openWorkerDatagrams(udpBindAddress(host), socket);
  const late = new LateEvents();
  let control: Socket | undefined;
  try {
    const opened = await openControl(host, port, { ...join, via: 'udp', udpPort: udp.port, ...(udp.canJoinGroups ? { multicast: true } : {}) }, name, timeoutMs, late);
    control = opened.control;
    const welcome = opened.welcome;
    // Joined before the first packet leaves: no slot completes until every worker has sent to it.
    if (welcome.multicast !== undefined) udp.joinGroup(welcome.multicast.group, welcome.multicast.port, host, welcome.udpPort);
    await udp.connect(host, welcome.udpPort);
    const ctl = control;
    let closed = false;
    return {
      welcome,
      attach: (events) => {
        udp.onPacket((msg) => events.packet(msg));
        ctl.on('close', () => events.closed());
        late.attach(events);
        return {
          send: (bytes) => { if (!closed) udp.send(bytes); },
          ...(udp.stream === undefined ? {} : { stream: udp.stream }),
          close: () => {
            if (closed) return;
            closed = true;
            ctl.destroy();
            udp.close();
          },
        };
      },
    };
  } catch (error) {
    control?.destroy();
    udp.close();
    throw error;
  }
}

/** 'ended' lines that arrive on the control connection, held until the worker attaches. */
class LateEvents {
  private events: LinkEvents | undefined;
  private readonly held: string[] = [];
  ended(reason: string): void {
    if (this.events) this.events.ended(reason);
    else this.held.push(reason);
  }
  attach(events: LinkEvents): void {
    this.events = events;
    for (const reason of this.held.splice(0)) events.ended(reason);
  }
}

/** Opens the control connection, sends the join and waits for the welcome (every rank must join). */
function openControl(host: string, port: number, join: Join, name: string, timeoutMs: number, late: LateEvents): Promise<{ control: Socket; welcome: Welcome }> {
  return new Promise((resolve, reject) => {
    const control = connect({ host, port });
    control.setNoDelay(true);
    control.setEncoding('utf8');
    let settled = false;
    const finish = (error: Error | undefined, welcome?: Welcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        control.destroy();
        reject(error);
      } else resolve({ control, welcome: welcome! });
    };
    const timer = setTimeout(() => finish(timeoutError(`${name}: job '${join.world}' did not start within ${timeoutMs} ms (waiting for all ${join.size} workers to join)`)), timeoutMs);
    const splitter = new LineSplitter((text) => {
      let message;
      try {
        message = parseSwitchMessage(text);
      } catch {
        return finish(systemError(`${name} sent something that is not a switch message`));
      }
      if (message.t === 'welcome') return finish(undefined, message);
      if (message.t === 'refused') return finish(invalidUsage(`${name} refused rank ${join.rank} of job '${join.world}': ${message.reason}`));
      late.ended(message.reason);
    }, () => finish(systemError(`${name} sent an overlong line`)));
    control.on('data', (chunk: string) => splitter.push(chunk));
    control.on('error', (error) => finish(systemError(`${name}: ${error.message}`, error)));
    control.on('close', () => finish(systemError(`${name} closed the control connection before the job started`)));
    control.write(`${JSON.stringify(join)}\n`);
  });
}

/**
 * Where the data socket listens: loopback for a switch on this host (nothing else can reach it),
 * every address for a remote one, so that the kernel sends from the interface that routes to the
 * switch (the one the control connection uses; the switch knows us by that address). The socket
 * is connected to the switch, so only its datagrams are delivered.
 */
function udpBindAddress(host: string): string {
  const v6 = host.includes(':');
  const loopback = v6 ? host === '::1' : host === 'localhost' || host.startsWith('127.');
  if (loopback) return v6 ? '::1' : '127.0.0.1';
  return v6 ? '::' : '0.0.0.0';
}

registerUdpLink(openUdpLink);
