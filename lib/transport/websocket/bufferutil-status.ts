// Whether `ws` (the rendezvous server, the relay and their clients) masks and unmasks frames with
// the native `bufferutil` addon or in JavaScript (about 6x slower for frames from a client). Mirrors ws's own choice: it loads the
// addon unless WS_NO_BUFFER_UTIL is set, and falls back silently when it is not installed.
import { createRequire } from 'node:module';

let loaded: boolean | undefined;

export function bufferutilLoaded(): boolean {
  if (loaded === undefined) {
    try {
      if (process.env['WS_NO_BUFFER_UTIL']) throw new Error('disabled');
      createRequire(import.meta.url)('bufferutil');
      loaded = true;
    } catch {
      loaded = false;
    }
  }
  return loaded;
}
