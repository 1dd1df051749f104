// Native calls throw plain Errors (code ERR_WEBCCL_NATIVE) for bad arguments; the library's
// callers expect WebcclErrors. Every call into the addon goes through here.
import { invalidArgument } from '../errors.js';

/** Runs `call`, turning the addon's argument errors into InvalidArgument with `what` as context. */
export function callNative<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw asNativeError(what, error);
  }
}

export function asNativeError(what: string, error: unknown): Error {
  if (error instanceof Error && (error as { code?: unknown }).code === 'ERR_WEBCCL_NATIVE') {
    return invalidArgument(`${what}: ${error.message}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
