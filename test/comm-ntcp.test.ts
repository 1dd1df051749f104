// The collective matrix over the ntcp transport (the native addon's tcp provider); the body is
// shared with comm-shm (test/helpers/comm-native-suite.ts). The multi-process runs and the
// faults are in ntcp-processes.test.ts.
import { runCommNativeSuite } from './helpers/comm-native-suite.js';

runCommNativeSuite('ntcp');
