/**
 * Errors a user can act on. The CLI prints `reel2real: <file>: <problem>` on one line and exits non-zero;
 * anything else that escapes is a bug and is reported as such (still on one line, stack only with
 * REEL2REAL_DEBUG=1).
 */
export class UserError extends Error {
  readonly file?: string;
  constructor(message: string, file?: string) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'UserError';
    this.file = file;
  }
}

/** Throw a UserError for `file` unless `cond` holds. */
export function check(cond: unknown, file: string | undefined, message: string): asserts cond {
  if (!cond) throw new UserError(message, file);
}

/** Re-throw any error as a UserError naming `file`, keeping its message on one line. */
export function wrapFileError(err: unknown, file: string): never {
  if (err instanceof UserError) throw err;
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ENOENT') throw new UserError('no such file', file);
  if (e && e.code === 'EISDIR') throw new UserError('is a directory, expected a file', file);
  if (e && e.code === 'EACCES') throw new UserError('permission denied', file);
  const msg = e && e.message ? e.message.split('\n')[0] : String(err);
  throw new UserError(msg, file);
}
