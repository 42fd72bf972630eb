// Is it PostgreSQL that answers on a port? Sends an SSLRequest (8 bytes: length 8, code 80877103);
// a PostgreSQL server answers exactly one byte, 'S' or 'N', and then waits for us. Anything else
// (an SSH banner also starts with 'S', hence "exactly one byte") is something else.

import { connect } from 'node:net';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export type ProbeResult =
  | { kind: 'postgres'; ssl: boolean }
  /** Nothing listens (yet). */
  | { kind: 'refused' }
  /** Connected, then closed or silent without a byte: e.g. a tunnel whose far end is not reachable yet. */
  | { kind: 'no-answer' }
  /** Connected and answered, but not like PostgreSQL. */
  | { kind: 'other'; bytes: Buffer };

/**
 * Probes `host:port` once.
 * @example if ((await probePostgres('localhost', 5432, 2000)).kind === 'postgres') …
 */
export function probePostgres(host: string, port: number, timeoutMs: number, settleMs = 150): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let connected = false;
    let settled = false;
    let settleTimer: NodeJS.Timeout | null = null;
    const socket = connect({ host, port });
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (settleTimer !== null) clearTimeout(settleTimer);
      socket.destroy();
      resolve(result);
    };
    const verdict = (): ProbeResult => {
      if (received.length === 0) return { kind: 'no-answer' };
      const first = received[0];
      if (received.length === 1 && (first === 0x53 || first === 0x4e)) return { kind: 'postgres', ssl: first === 0x53 };
      return { kind: 'other', bytes: received.subarray(0, 64) };
    };
    const timer = setTimeout(() => finish(connected ? verdict() : { kind: 'no-answer' }), timeoutMs);
    socket.once('connect', () => {
      connected = true;
      socket.write(SSL_REQUEST);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length > 1) return finish(verdict());
      // One byte so far: PostgreSQL says no more; wait a moment to tell it from a longer banner.
      settleTimer ??= setTimeout(() => finish(verdict()), settleMs);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => finish(connected ? verdict() : err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'no-answer' }));
    socket.once('close', () => finish(verdict()));
  });
}

/** Printable text of a probe's bytes for messages ("SSH-2.0-OpenSSH_9.6\r\n" → "SSH-2.0-OpenSSH_9.6\r\n" escaped). */
export function describeBytes(bytes: Buffer): string {
  return JSON.stringify(bytes.toString('latin1'));
}
