// The collective matrix over the shm transport (the native addon's shared-memory provider);
// the body is shared with comm-ntcp (test/helpers/comm-native-suite.ts). The multi-process
// runs and the faults are in shm-processes.test.ts.
import { runCommNativeSuite } from './helpers/comm-native-suite.js';

runCommNativeSuite('shm');
