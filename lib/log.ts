// Logging in NCCL's spirit: WEBCCL_DEBUG=WARN|INFO|TRACE, every line tagged with the
// subsystem (INIT, COLL, NET, GPU, ...) and, where known, the rank.
import { readSettings, type LogLevel } from './settings.js';

const RANK_OF: Record<LogLevel, number> = { NONE: 0, WARN: 1, INFO: 2, TRACE: 3 };

/** WEBCCL_DEBUG, read at the first log call (not at import, so launchers can set it first). */
let threshold: number | undefined;

function enabled(level: Exclude<LogLevel, 'NONE'>): boolean {
  threshold ??= RANK_OF[readSettings().debug];
  return RANK_OF[level] <= threshold;
}

export interface Logger {
  warn(message: string): void;
  info(message: string): void;
  trace(message: string): void;
  readonly traceEnabled: boolean;
}

export function logger(subsystem: string, rank?: number): Logger {
  const prefix = rank === undefined ? `webccl ${subsystem}` : `webccl ${rank} ${subsystem}`;
  const write = (level: Exclude<LogLevel, 'NONE'>) => (message: string) => {
    if (enabled(level)) console.error(`${prefix} ${level} ${message}`);
  };
  return {
    warn: write('WARN'),
    info: write('INFO'),
    trace: write('TRACE'),
    get traceEnabled() { return enabled('TRACE'); },
  };
}
