// The switch's two data planes: every switch suite runs against both, the TypeScript one (the
// oracle) and the native one (native/src/switch-dp.cc), which must be built: a suite fails, never
// skips, when it is not.
import type { DataPlaneKind } from '../../lib/switch/udp-door.js';

export const PLANES: readonly DataPlaneKind[] = ['js', 'native'];
