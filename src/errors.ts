/**
 * Errors a user can act on. The CLI prints `reel2real: <file>: <problem>` on one line and exits non-zero;
 * anything else that escapes is a bug and is reported as such (still on one line, stack only with
 * REEL2REAL_DEBUG=1).
 */
export class UserError extends Error {
  readonly file?: string;
  constructor(message: string, file?: string) {
    // Messages quote untrusted text (file names, values read from files): never let it reach the terminal raw.
    super(file ? `${safeText(file, 300)}: ${safeText(message, 600)}` : safeText(message, 800));
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

// C0 and C1 control characters, DEL, line/paragraph separators, bidirectional overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Untrusted text made safe for a one-line terminal message: control characters (escape sequences, newlines,
 * bidi overrides) written as \xNN / \uNNNN, and anything past `max` characters cut with "…(N more)".
 */
export function safeText(text: string, max = 200): string {
  let s = String(text);
  let cut = '';
  if (s.length > max) {
    cut = `…(${s.length - max} more)`;
    s = s.slice(0, max);
  }
  return s.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  }) + cut;
}

/** An untrusted value quoted for an error message: "…", control characters escaped, cut after `max` characters. */
export function quote(value: unknown, max = 80): string {
  const s = typeof value === 'string' ? value : value instanceof Uint8Array ? Buffer.from(value.subarray(0, max * 4)).toString('latin1') : String(value);
  return `"${safeText(s.replace(/\\/g, '\\\\').replace(/"/g, '\\"'), max)}"`;
}
