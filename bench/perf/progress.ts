// A one-line progress indicator for long sweeps, only when stderr is a terminal (never in logs,
// pipes or CI output, where it would be noise).

export interface Progress {
  update(done: number, total: number, label: string): void;
  finish(): void;
}

const SILENT: Progress = { update() {}, finish() {} };

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return SILENT;
  const started = Date.now();
  let shown = false;
  return {
    update(done, total, label) {
      const elapsed = (Date.now() - started) / 1000;
      stream.write(`\r\x1b[K# [${done}/${total}] ${label}  ${elapsed.toFixed(0)} s`);
      shown = true;
    },
    finish() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
