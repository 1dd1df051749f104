// The ntcp transport across separate Node processes: the shared suite (right sums; a rank
// killed with SIGKILL: survivors reject fast and give back descriptors and I/O threads), whose
// body it shares with shm-processes (test/helpers/processes-native-suite.ts).
import { test } from 'uvu';
import { registerProcessesNativeSuite } from './helpers/processes-native-suite.js';

registerProcessesNativeSuite('ntcp');
test.run();
