// Stand-ins for the Google APIs that have no local server, behind the real wire protocols their
// real clients speak: the GCE metadata server (token, instance id and zone), Secret Manager over
// REST (what the VM's boot script curls) and over gRPC (what @google-cloud/secret-manager in the
// functions calls), and Cloud Monitoring's timeSeries.create (the VM's health reporter). One secret
// store behind both Secret Manager faces. Every request is recorded for the assertions; tokens are
// checked like the real APIs check them (a missing or unknown bearer token is refused).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { isAppError } from '../../../schema/errors.js';
import { Redacted } from '../../../functions/secrets/redacted.js';
import { InMemorySecretSource } from '../../../functions/secrets/secret-source.js';
import { REPO_ROOT } from './rehearsal-stack.js';

export interface RecordedRequest {
  api: 'metadata' | 'secretmanager-rest' | 'secretmanager-grpc' | 'monitoring';
  method: string;
  path: string;
  /** HTTP status or gRPC status code. */
  status: number;
  /** Request body (monitoring only: it carries no secret). */
  body?: unknown;
}

export interface GoogleApisStandin {
  readonly secrets: InMemorySecretSource;
  /** http://host:port: the metadata, Secret Manager REST and Monitoring face. */
  readonly httpUrl: string;
  /** host:port of the plaintext Secret Manager gRPC face. */
  readonly grpcEndpoint: string;
  readonly requests: RecordedRequest[];
  /** Time series written through Monitoring, in order. */
  readonly timeSeries: Array<{ metric: string; value: number; labels: Record<string, string> }>;
  /** Adds a version with a random hex password (created `ageMs` ago, default a day: not a fresh rotation); returns it. */
  addRandomVersion(secret: string, ageMs?: number): Promise<string>;
  close(): Promise<void>;
}

const INSTANCE_ID = '4815162342108';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function grpcError(code: grpc.status, message: string): grpc.ServiceError {
  return Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() }) as grpc.ServiceError;
}

/** Starts both faces. `host` is the address the HTTP face listens on (the sandbox VM reaches it there). */
export async function startGoogleApisStandin(options: { project: string; zone: string; host: string }): Promise<GoogleApisStandin> {
  const secrets = new InMemorySecretSource();
  const requests: RecordedRequest[] = [];
  const timeSeries: GoogleApisStandin['timeSeries'] = [];
  const tokens = new Set<string>();
  const authorized = (req: IncomingMessage) => tokens.has(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));

  const http: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const path = url.pathname;
      const record = (api: RecordedRequest['api'], status: number, body?: unknown) => requests.push({ api, method: req.method ?? '', path, status, ...(body === undefined ? {} : { body }) });
      if (path.startsWith('/computeMetadata/v1/')) {
        if (req.headers['metadata-flavor'] !== 'Google') {
          record('metadata', 403);
          return json(res, 403, { error: 'Missing Metadata-Flavor:Google header.' });
        }
        const what = path.slice('/computeMetadata/v1/'.length);
        record('metadata', 200);
        if (what === 'instance/service-accounts/default/token') {
          const token = `ya29.standin-${randomBytes(12).toString('hex')}`;
          tokens.add(token);
          return json(res, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
        }
        res.writeHead(what === 'instance/id' || what === 'instance/zone' ? 200 : 404, { 'content-type': 'application/text' });
        return res.end(what === 'instance/id' ? INSTANCE_ID : what === 'instance/zone' ? `projects/123456789012/zones/${options.zone}` : 'not found');
      }
      const access = /^\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/([^/:]+):access$/.exec(path);
      if (access && req.method === 'GET') {
        if (!authorized(req)) {
          record('secretmanager-rest', 401);
          return json(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } });
        }
        try {
          const [, secret, version] = access as unknown as [string, string, string];
          const { value, name } = version === 'latest' ? await secrets.accessLatest(secret).then((l) => ({ value: l.value, name: l.version })) : { value: await secrets.accessVersion(`${secret}/versions/${version}`), name: `${secret}/versions/${version}` };
          record('secretmanager-rest', 200);
          return json(res, 200, { name, payload: { data: Buffer.from(value.reveal(), 'utf8').toString('base64'), dataCrc32c: '0' } });
        } catch (err) {
          record('secretmanager-rest', 404);
          return json(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: isAppError(err) ? err.message : 'not found' } });
        }
      }
      const ts = /^\/v3\/projects\/([^/]+)\/timeSeries$/.exec(path);
      if (ts && req.method === 'POST') {
        if (!authorized(req)) {
          record('monitoring', 401);
          return json(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
        }
        let parsed: { timeSeries?: Array<{ metric?: { type?: string }; resource?: { labels?: Record<string, string> }; points?: Array<{ value?: { int64Value?: string } }> }> };
        try {
          parsed = JSON.parse(await bodyOf(req)) as typeof parsed;
        } catch {
          record('monitoring', 400);
          return json(res, 400, { error: { code: 400, status: 'INVALID_ARGUMENT', message: 'invalid JSON' } });
        }
        for (const t of parsed.timeSeries ?? []) {
          timeSeries.push({ metric: String(t.metric?.type), value: Number(t.points?.[0]?.value?.int64Value), labels: t.resource?.labels ?? {} });
        }
        record('monitoring', 200, parsed);
        return json(res, 200, {});
      }
      record('metadata', 404);
      json(res, 404, { error: `no stand-in for ${req.method} ${path}` });
    })().catch((err: unknown) => json(res, 500, { error: String(err) }));
  });
  await new Promise<void>((r) => http.listen(0, options.host, r));
  const httpUrl = `http://${options.host}:${(http.address() as AddressInfo).port}`;

  // gRPC: the service definition from the client package's own protos
  const protoRoot = (pkg: string) => join(REPO_ROOT, 'node_modules', pkg, 'build', 'protos');
  const definition = protoLoader.loadSync('google/cloud/secretmanager/v1/service.proto', {
    includeDirs: [protoRoot('@google-cloud/secret-manager'), protoRoot('google-gax')],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { google: { cloud: { secretmanager: { v1: { SecretManagerService: { service: grpc.ServiceDefinition } } } } } };
  const service = pkg.google.cloud.secretmanager.v1.SecretManagerService.service;
  const versionMessage = (name: string, state: string, createTime: Date) => ({
    name,
    state,
    createTime: { seconds: String(Math.floor(createTime.getTime() / 1000)), nanos: (createTime.getTime() % 1000) * 1e6 },
  });
  type Call<T> = grpc.ServerUnaryCall<T, unknown>;
  const unary = <T>(method: string, fn: (req: T) => Promise<unknown>) => (call: Call<T>, callback: grpc.sendUnaryData<unknown>) => {
    fn(call.request).then(
      (r) => {
        requests.push({ api: 'secretmanager-grpc', method, path: String((call.request as { name?: string; parent?: string }).name ?? (call.request as { parent?: string }).parent), status: 0 });
        callback(null, r);
      },
      (err: unknown) => {
        const code = isAppError(err) && /does not exist|no enabled version/.test(err.message) ? grpc.status.NOT_FOUND : grpc.status.FAILED_PRECONDITION;
        requests.push({ api: 'secretmanager-grpc', method, path: '', status: code });
        callback(grpcError(code, err instanceof Error ? err.message : String(err)));
      },
    );
  };
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(service)) {
    implementation[name] = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(grpcError(grpc.status.UNIMPLEMENTED, `the stand-in does not implement ${name}`));
  }
  implementation.AccessSecretVersion = unary<{ name: string }>('AccessSecretVersion', async ({ name }) => {
    const m = /^(projects\/[^/]+\/secrets\/[^/]+)\/versions\/latest$/.exec(name);
    if (m) {
      const l = await secrets.accessLatest(m[1]!);
      return { name: l.version, payload: { data: Buffer.from(l.value.reveal(), 'utf8') } };
    }
    return { name, payload: { data: Buffer.from((await secrets.accessVersion(name)).reveal(), 'utf8') } };
  });
  implementation.AddSecretVersion = unary<{ parent: string; payload: { data: Buffer } }>('AddSecretVersion', async ({ parent, payload }) => {
    const name = await secrets.addVersion(parent, new Redacted(Buffer.from(payload.data).toString('utf8')));
    return versionMessage(name, 'ENABLED', new Date());
  });
  implementation.ListSecretVersions = unary<{ parent: string }>('ListSecretVersions', async ({ parent }) => {
    const versions = await secrets.listVersions(parent);
    return { versions: versions.map((v) => versionMessage(v.name, v.state, v.createTime)), nextPageToken: '', totalSize: versions.length };
  });
  implementation.DisableSecretVersion = unary<{ name: string }>('DisableSecretVersion', async ({ name }) => {
    await secrets.disableVersion(name);
    const v = (await secrets.listVersions(name.replace(/\/versions\/[^/]+$/, ''))).find((x) => x.name === name)!;
    return versionMessage(name, v.state, v.createTime);
  });
  const server = new grpc.Server();
  server.addService(service, implementation);
  const grpcPort = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? rej(err) : res(port))));

  return {
    secrets,
    httpUrl,
    grpcEndpoint: `127.0.0.1:${grpcPort}`,
    requests,
    timeSeries,
    async addRandomVersion(secret: string, ageMs = 86_400_000) {
      const password = randomBytes(24).toString('hex');
      const version = await secrets.addVersion(secret, new Redacted(password));
      secrets.backdate(version, new Date(Date.now() - ageMs));
      return password;
    },
    async close() {
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
