import * as net from 'node:net';
import { closeLingering, isLingering } from '../../../images/proxy/src/linger';
import { LOOPBACK } from './util';

/** A server that answers every connection with `answer` and closes it lingering; resolves with it listening. */
async function lingeringServer(lingeringTimeMs: number): Promise<{ server: net.Server; port: number; closed: Promise<net.Socket> }> {
  let closedResolve!: (socket: net.Socket) => void;
  const closed = new Promise<net.Socket>((resolve) => (closedResolve = resolve));
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.on('close', () => closedResolve(socket));
    socket.resume();
    socket.write('answer');
    closeLingering(socket, lingeringTimeMs);
    expect(isLingering(socket)).toBe(true);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, () => resolve()));
  return { server, port: (server.address() as net.AddressInfo).port, closed };
}

/** A client that keeps writing (after the server's FIN too) until told to stop; collects what it reads. */
function client(port: number): { socket: net.Socket; received: () => string; error: () => string | undefined; gone: Promise<void> } {
  const socket = net.connect({ port, host: LOOPBACK, allowHalfOpen: true });
  let received = '';
  let error: string | undefined;
  socket.on('data', (d) => (received += d.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code));
  const gone = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, received: () => received, error: () => error, gone };
}

describe('closeLingering', () => {
  test('the answer and a FIN go out; what the client still sends is read and discarded; the client\'s FIN ends it cleanly', async () => {
    const { server, port, closed } = await lingeringServer(5000);
    const c = client(port);
    try {
      await new Promise((resolve) => c.socket.once('end', resolve));
      expect(c.received()).toBe('answer');
      // The server already sent FIN; a client that uploads first and reads after goes on writing.
      for (let i = 0; i < 16; i++) await new Promise<void>((resolve, reject) => c.socket.write(Buffer.alloc(256 * 1024), (e) => (e ? reject(e) : resolve())));
      c.socket.end();
      await closed;
      await c.gone;
      expect(c.error()).toBeUndefined();
    } finally {
      c.socket.destroy();
      server.close();
    }
  });

  test('a client that keeps sending is cut at the lingering time', async () => {
    const { server, port, closed } = await lingeringServer(200);
    const c = client(port);
    const timer = setInterval(() => c.socket.write('more'), 20);
    try {
      await closed;
      expect(c.received()).toBe('answer');
    } finally {
      clearInterval(timer);
      c.socket.destroy();
      server.close();
    }
  });

  test('a client that neither closes nor sends is closed at the lingering time (or after 5 s of silence)', async () => {
    const { server, port, closed } = await lingeringServer(100);
    const c = client(port);
    try {
      await closed;
      expect(c.received()).toBe('answer');
    } finally {
      c.socket.destroy();
      server.close();
    }
  });
});
