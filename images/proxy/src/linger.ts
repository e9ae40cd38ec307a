/**
 * Lingering close, as nginx does it (`lingering_close`, `lingering_time`, `lingering_timeout`). When the
 * proxy answers and closes a connection the client is still sending on (a 413 for a body it will not read,
 * a 400 for a malformed request), closing at once would reset the connection: the kernel answers unread
 * or later data with RST, and a client still uploading loses the answer before it reads it. Instead the
 * proxy sends its answer and FIN, keeps reading and discarding what the client sends, and closes when the
 * client closes, when the client stayed silent for {@link LINGERING_SILENCE_MS}, or after the lingering
 * time, whichever comes first.
 *
 * Only error paths get here: nothing in this file runs per request.
 */
import type * as net from 'node:net';

/** nginx's `lingering_timeout`: a client that sent nothing for this long is taken to be done sending. */
export const LINGERING_SILENCE_MS = 5000;

const kLingering = Symbol('cortex.lingering');
const kLingeringTime = Symbol('cortex.lingeringTime');

interface Lingering {
  readonly deadline: number;
  bytesRead: number;
  timer: NodeJS.Timeout | null;
}

type LingeringSocket = net.Socket & { [kLingering]?: Lingering; [kLingeringTime]?: number };

/** Whether `socket` is closing: the proxy sent its last answer on it and reads only to discard. */
export function isLingering(socket: net.Socket): boolean {
  return (socket as LingeringSocket)[kLingering] !== undefined;
}

/** Ends `socket` once what was written is sent, then lingers for at most `lingeringTimeMs`. */
export function closeLingering(socket: net.Socket, lingeringTimeMs: number): void {
  const s = socket as LingeringSocket;
  if (s[kLingering] !== undefined || s.destroyed) return;
  const state: Lingering = { deadline: Date.now() + lingeringTimeMs, bytesRead: s.bytesRead, timer: null };
  s[kLingering] = state;
  s.end();
  // Node's HTTP server may have paused reading (pipelined requests piling up): discarding needs reading.
  s.resume();
  if (s.destroyed) return;
  s.once('close', stopLingering);
  armLingering(s, state);
}

/**
 * Makes the close that Node's HTTP server performs after a `Connection: close` response (it calls
 * `socket.destroySoon()` once the response is sent) a lingering one.
 */
export function lingerAfterResponse(socket: net.Socket, lingeringTimeMs: number): void {
  const s = socket as LingeringSocket;
  if (s[kLingeringTime] !== undefined) return;
  s[kLingeringTime] = lingeringTimeMs;
  s.destroySoon = lingeringDestroySoon;
}

function lingeringDestroySoon(this: LingeringSocket): void {
  closeLingering(this, this[kLingeringTime] ?? 0);
}

function armLingering(socket: LingeringSocket, state: Lingering): void {
  const left = state.deadline - Date.now();
  if (left <= 0) {
    socket.destroy();
    return;
  }
  state.timer = setTimeout(checkLingering, Math.min(left, LINGERING_SILENCE_MS), socket);
  state.timer.unref();
}

function checkLingering(socket: LingeringSocket): void {
  const state = socket[kLingering];
  if (state === undefined || socket.destroyed) return;
  state.timer = null;
  const bytesRead = socket.bytesRead;
  if (bytesRead === state.bytesRead) {
    // Silent since the last check: done sending.
    socket.destroy();
    return;
  }
  state.bytesRead = bytesRead;
  armLingering(socket, state);
}

function stopLingering(this: LingeringSocket): void {
  const state = this[kLingering];
  if (state !== undefined && state.timer !== null) {
    clearTimeout(state.timer);
    state.timer = null;
  }
}
