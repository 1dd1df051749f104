// The browser entry: the same API as the Node entry, on navigator.gpu and the browser's own
// WebSocket. Must never import a Node module (build.mjs bundles it for platform 'browser').
export * from './index.core.js';
export { createBrowserDevice } from './gpu/browser-device.js';
// webccl:// ids in a browser: ranks talk through the rendezvous server's relay.
import { registerWorldProvider as registerBrowserWorld } from './transport/world.js';
import { browserRelayOnlyWorld, browserRelayWorld } from './rendezvous/worlds/browser-world.js';
registerBrowserWorld(browserRelayWorld);
registerBrowserWorld(browserRelayOnlyWorld);
// The switch algorithm: a page joins a switch through its WebSocket door (webccl switch
// --ws-port, or webccl serve --switch for the relay's worlds), with the page's WebSocket.
import { registerAggregatorProvider } from './memory/aggregator.js';
import { switchAggregatorProvider } from './switch/switch-aggregator.js';
registerAggregatorProvider(switchAggregatorProvider({ udp: false }));
