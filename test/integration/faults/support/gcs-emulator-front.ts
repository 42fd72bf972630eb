// Lets the real `aqe-upload` CLI (a child process) reach the in-process GCS test server. The CLI
// has no endpoint option; the client honours STORAGE_EMULATOR_HOST, but then sends JSON-API calls
// to `<host>/b/…` (no `/storage/v1`), which fake-gcs-server accepts and test/support/gcs-server.ts
// does not. This front rewrites those paths and passes everything else through byte for byte
// (faults injected by the server, dropped connections included, reach the client unchanged).

import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface GcsEmulatorFront {
  /** Value for STORAGE_EMULATOR_HOST, e.g. `http://127.0.0.1:40123`. */
  endpoint: string;
  close(): Promise<void>;
}

/** `/b/…` and `/projects/…` → `/storage/v1/…`; upload, download and already-prefixed paths unchanged. */
export function emulatorPathToJsonApi(path: string): string {
  if (/^\/(?:storage\/v1|upload|download)(?:\/|$)/.test(path)) return path;
  return `/storage/v1${path}`;
}

/**
 * Starts the front on 127.0.0.1, forwarding to `upstream` (the test server's `endpoint`).
 * The Host header is kept, so resumable-upload session URLs the server hands out point back here.
 * @example const front = await startGcsEmulatorFront(server.endpoint); spawn(cli, { env: { STORAGE_EMULATOR_HOST: front.endpoint } })
 */
export async function startGcsEmulatorFront(upstream: string): Promise<GcsEmulatorFront> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://front');
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: `${emulatorPathToJsonApi(url.pathname)}${url.search}`,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        // The server cut the connection mid-response (a "dropped connection" fault): cut ours too.
        up.once('aborted', () => res.socket?.destroy());
        up.once('error', () => res.socket?.destroy());
      },
    );
    forward.once('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('test front: upstream unreachable');
      else res.socket?.destroy();
    });
    req.once('error', () => forward.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
