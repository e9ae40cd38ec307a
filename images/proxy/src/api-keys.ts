/**
 * API keys (`--api-keys-file`): the request port answers 401 unless a request carries a key whose SHA-256 is
 * in the file. The file holds hashes only (a Kubernetes Secret mounted into the pod); it is read at start
 * (a bad file stops the proxy, exit 2) and read again every few seconds, so that keys are added and revoked
 * without a restart (a bad file then keeps the keys of the last good one). Keys are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { ConfigError } from './config';
import { Log } from './log';

const HASH_LINE = /^([0-9a-fA-F]{64})(?:[ \t]+#.*)?$/;

export const KEY_FILE_FORMAT =
  'each line a SHA-256 hash of a key as 64 hex digits (`printf %s "$KEY" | sha256sum`), optionally followed by ' +
  'spaces and a # comment; or a comment line starting with #; or a blank line';

/** A keys file that cannot be read or has a bad line; the message names the file (and line). */
export class ApiKeysFileError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'ApiKeysFileError';
  }
}

/**
 * The hashes of a keys file's text. A bad line throws; its content is not repeated in the message: a line that
 * is not a hash may be a key pasted by mistake, and the message goes to the log.
 */
export function parseApiKeys(text: string, file: string): Buffer[] {
  const hashes: Buffer[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = HASH_LINE.exec(line);
    if (match === null) {
      const first = line.split(/[ \t]/)[0];
      const what = /^[0-9a-fA-F]+$/.test(first) ? `${first.length} hex digits` : `${line.length} characters that are not a hex hash`;
      throw new ApiKeysFileError(`${file}:${i + 1}: not a SHA-256 hash (got ${what}; the line is not shown, it may be a key): ${KEY_FILE_FORMAT}`);
    }
    hashes.push(Buffer.from(match[1], 'hex'));
  }
  return hashes;
}

/** The SHA-256 of a key as sent: the header value's bytes (Node reads header values as latin1). */
export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'latin1').digest();
}

export type DigestEquals = (a: Buffer, b: Buffer) => boolean;

/**
 * Whether `key` hashes to one of `hashes`. Every hash is compared, in constant time, whatever matched: the
 * time taken does not tell which line (or whether an early one) holds the key.
 */
export function verifyKey(key: string, hashes: readonly Buffer[], equals: DigestEquals = timingSafeEqual): boolean {
  const digest = hashKey(key);
  let matched = 0;
  for (const hash of hashes) matched |= equals(digest, hash) ? 1 : 0;
  return matched === 1;
}

/** Where a request's key came from: the header to drop before forwarding (lower case), and the key. */
export interface Credential {
  readonly header: 'authorization' | 'x-api-key' | undefined;
  /** `undefined`: no key, or an ambiguous one (two `x-api-key` or two `Authorization` headers). */
  readonly key: string | undefined;
}

const NO_CREDENTIAL: Credential = { header: undefined, key: undefined };
const BEARER = /^bearer[ \t]+(\S+)$/i;

/**
 * The key of a request: `x-api-key: <key>` if present, else `Authorization: Bearer <key>`. With `x-api-key`,
 * an `Authorization` header (of any scheme) is the user's server's, and goes through.
 */
export function credentialOf(rawHeaders: readonly string[]): Credential {
  let apiKey: string | undefined;
  let apiKeys = 0;
  let authorization: string | undefined;
  let authorizations = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 9 && name.toLowerCase() === 'x-api-key') {
      apiKey = rawHeaders[i + 1];
      apiKeys++;
    } else if (name.length === 13 && name.toLowerCase() === 'authorization') {
      authorization = rawHeaders[i + 1];
      authorizations++;
    }
  }
  if (apiKeys > 0) return { header: 'x-api-key', key: apiKeys === 1 && apiKey !== '' ? apiKey : undefined };
  if (authorizations !== 1) return NO_CREDENTIAL;
  const bearer = BEARER.exec(authorization as string);
  return bearer === null ? NO_CREDENTIAL : { header: 'authorization', key: bearer[1] };
}

export interface ApiKeysOptions {
  /** How often the file is read again. */
  readonly pollIntervalMs: number;
  readonly log: Log;
  /** The comparison of two digests (tests count its calls). @default crypto.timingSafeEqual */
  readonly equals?: DigestEquals;
}

/**
 * The keys of a file, kept current. The file is read again on an interval rather than watched: a Secret volume
 * updates by swapping a symlink (`..data`) in its directory, which `fs.watch` on the file does not see. Reading
 * a few lines every few seconds costs nothing, and a changed content is what counts (not an mtime).
 */
export class ApiKeys {
  /** Reads `file` now: a missing, unreadable or bad file throws {@link ApiKeysFileError}. */
  public static load(file: string, options: ApiKeysOptions): ApiKeys {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new ApiKeysFileError(`--api-keys-file (${JSON.stringify(file)}) cannot be read: ${(error as Error).message}`);
    }
    return new ApiKeys(file, text, parseApiKeys(text, file), options);
  }

  private hashes: readonly Buffer[];
  private text: string;
  private lastError: string | undefined;
  private reading = false;
  private failures = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly equals: DigestEquals;

  private constructor(
    public readonly file: string,
    text: string,
    hashes: Buffer[],
    private readonly options: ApiKeysOptions,
  ) {
    this.text = text;
    this.hashes = hashes;
    this.equals = options.equals ?? timingSafeEqual;
    this.timer = setInterval(() => void this.reload(), options.pollIntervalMs);
    this.timer.unref();
    if (hashes.length === 0) options.log.info(`${file} holds no key hash: every request on the request port gets 401`);
  }

  /** Hashes loaded now. */
  public get size(): number {
    return this.hashes.length;
  }

  /** Re-reads that failed (the file missing or bad), since start. */
  public get reloadFailures(): number {
    return this.failures;
  }

  /** Whether `key` is one of the keys; every hash is compared (see {@link verifyKey}). */
  public accepts(key: string | undefined): boolean {
    if (key === undefined) return false;
    return verifyKey(key, this.hashes, this.equals);
  }

  /**
   * Reads the file again; a changed content replaces the keys, a bad one is logged (once per distinct
   * problem) and the keys of the last good content stay. Resolves when done (tests call it directly).
   */
  public async reload(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      let text: string;
      try {
        text = await fs.promises.readFile(this.file, 'utf8');
      } catch (error) {
        this.failed(`${this.file} cannot be read: ${(error as Error).message}`);
        return;
      }
      if (text === this.text) {
        // Unchanged since the last good read: a problem logged since then is over (the file came back).
        this.lastError = undefined;
        return;
      }
      let hashes: Buffer[];
      try {
        hashes = parseApiKeys(text, this.file);
      } catch (error) {
        this.failed((error as Error).message);
        return;
      }
      this.text = text;
      this.hashes = hashes;
      this.lastError = undefined;
      this.options.log.info(`api keys: ${hashes.length} key hash${hashes.length === 1 ? '' : 'es'} loaded from ${this.file} (it changed)`);
    } finally {
      this.reading = false;
    }
  }

  public close(): void {
    clearInterval(this.timer);
  }

  private failed(message: string): void {
    this.failures++;
    if (message === this.lastError) return;
    this.lastError = message;
    this.options.log.info(`api keys: ${message}; still using the ${this.hashes.length} key hash${this.hashes.length === 1 ? '' : 'es'} read before`);
  }
}
