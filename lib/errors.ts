// Errors mirror ncclResult_t so that users of NCCL know what each one means:
//  InvalidArgument  the call was rejected before anything happened (bad count, dtype, buffer);
//  InvalidUsage     ranks disagree (mismatched collectives) or the API was misused;
//  RemoteError      another rank failed or aborted;
//  SystemError      the transport or the device failed (connection dropped, device lost);
//  Timeout          a peer stayed silent past the configured timeout;
//  InternalError    a bug in webccl.

export type ErrorCode = 'InvalidArgument' | 'InvalidUsage' | 'RemoteError' | 'SystemError' | 'Timeout' | 'InternalError';

/**
 * `message` is composed as `<code>: <detail>`; code that passes an error's text on (to a peer,
 * into a close reason, into another error) takes `detail`, so the code never appears twice.
 */
export class WebcclError extends Error {
  override readonly name = 'WebcclError';
  /** The ranks disagree (mismatchError): a fault of every rank's, so peers are told this code, not RemoteError. */
  readonly acrossRanks: boolean;
  constructor(readonly code: ErrorCode, readonly detail: string, options?: { cause?: unknown; acrossRanks?: boolean }) {
    super(`${code}: ${detail}`, options);
    this.acrossRanks = options?.acrossRanks ?? false;
  }
}

/** What went wrong, without the code: a WebcclError's detail, else the error's message. */
export function detailOf(error: unknown): string {
  if (error instanceof WebcclError) return error.detail;
  return error instanceof Error ? error.message : String(error);
}

export function invalidArgument(message: string): WebcclError {
  return new WebcclError('InvalidArgument', message);
}

export function invalidUsage(message: string): WebcclError {
  return new WebcclError('InvalidUsage', message);
}

/** Ranks run different calls, found on this one (e.g. the board's stamps): InvalidUsage on every rank. */
export function mismatchError(message: string): WebcclError {
  return new WebcclError('InvalidUsage', message, { acrossRanks: true });
}

export function remoteError(message: string, cause?: unknown): WebcclError {
  return new WebcclError('RemoteError', message, { cause });
}

export function systemError(message: string, cause?: unknown): WebcclError {
  return new WebcclError('SystemError', message, { cause });
}

export function timeoutError(message: string): WebcclError {
  return new WebcclError('Timeout', message);
}

export function internalError(message: string, cause?: unknown): WebcclError {
  return new WebcclError('InternalError', message, { cause });
}

/** Wraps anything thrown into a WebcclError, keeping one that already is. */
export function asWebcclError(error: unknown, code: ErrorCode, context: string): WebcclError {
  if (error instanceof WebcclError) return error;
  return new WebcclError(code, `${context}: ${detailOf(error)}`, { cause: error });
}
