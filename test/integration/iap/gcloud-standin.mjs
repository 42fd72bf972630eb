// A stand-in for `gcloud compute start-iap-tunnel` in tests: parses the same arguments and, like the
// real one, listens on --local-host-port and forwards each connection, here to a local PostgreSQL
// (GCLOUD_STANDIN_TARGET=host:port) instead of IAP. GCLOUD_STANDIN_MODE picks a behaviour:
//   forward  (default) forward to the target
//   silent   never open the port (an instance that never becomes reachable)
//   garbage  answer every connection with an SSH banner (something that is not PostgreSQL)
//   fail     print a gcloud-like error and exit 1 (no permission)
// GCLOUD_STANDIN_RECORD: a file to which one JSON line {pid, ppid, args} is appended at start.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const args = process.argv.slice(2);
const mode = process.env.GCLOUD_STANDIN_MODE ?? 'forward';
if (process.env.GCLOUD_STANDIN_RECORD) appendFileSync(process.env.GCLOUD_STANDIN_RECORD, `${JSON.stringify({ pid: process.pid, ppid: process.ppid, args })}\n`);

function usage(message) {
  process.stderr.write(`ERROR: (gcloud.compute.start-iap-tunnel) ${message}\n`);
  process.exit(2);
}

const [group, verb, instance, remotePort, ...rest] = args;
if (group !== 'compute' || verb !== 'start-iap-tunnel') usage(`stand-in only knows "compute start-iap-tunnel", got: ${args.join(' ')}`);
if (!instance || !/^\d+$/.test(remotePort ?? '')) usage('expected INSTANCE_NAME INSTANCE_PORT');
const flags = {};
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  const eq = a.indexOf('=');
  if (a.startsWith('--') && eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
  else if (a.startsWith('--') && i + 1 < rest.length) flags[a.slice(2)] = rest[++i];
  else usage(`unrecognized arguments: ${a}`);
}
const local = /^(localhost|127\.0\.0\.1):(\d+)$/.exec(flags['local-host-port'] ?? '');
if (!local) usage('--local-host-port: expected localhost:PORT');
const localPort = Number(local[2]);

process.stderr.write('Testing if tunnel connection works.\n');
if (mode === 'fail') {
  process.stderr.write(`ERROR: (gcloud.compute.start-iap-tunnel) Error while connecting [4033: 'not authorized'].\n`);
  process.exit(1);
}
if (mode === 'silent') {
  setInterval(() => {}, 60_000);
} else {
  const [targetHost, targetPort] = (process.env.GCLOUD_STANDIN_TARGET ?? '').split(':');
  const server = net.createServer((client) => {
    if (mode === 'garbage') {
      client.end('SSH-2.0-OpenSSH_9.6\r\n');
      return;
    }
    const upstream = net.connect({ host: targetHost, port: Number(targetPort) });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(localPort, 'localhost', () => {
    process.stderr.write(`Listening on port [${localPort}].\n`);
  });
}
