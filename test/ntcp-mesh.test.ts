// The ntcp transport (frames through the native addon's tcp provider) on its own: the shared
// native mesh suite (Transport conformance, description, mixed sizes across segments), whose
// body it shares with shm-mesh (test/helpers/mesh-native-suite.ts).
import { test } from 'uvu';
import { registerMeshNativeSuite } from './helpers/mesh-native-suite.js';

await registerMeshNativeSuite('ntcp');
test.run();
