// Facts about this process that the table header reports and that change the numbers:
// whether `ws` will use its native frame masking (bufferutil), host and process.
import { createRequire } from 'node:module';

/** Mirrors ws's own test: bufferutil is used when it loads and WS_NO_BUFFER_UTIL is not set. */
export function bufferutilLoaded(): boolean {
  if (process.env['WS_NO_BUFFER_UTIL']) return false;
  try {
    createRequire(import.meta.url)('bufferutil');
    return true;
  } catch {
    return false;
  }
}
