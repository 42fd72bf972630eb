// Secret Manager behind the smallest interface the project needs. The real implementation uses
// @google-cloud/secret-manager; tests use the in-memory one (Secret Manager has no local server).

import { AppError } from '../../schema/errors.js';
import { Redacted } from './redacted.js';

export interface SecretVersionInfo {
  /** Full resource name: projects/P/secrets/S/versions/N */
  name: string;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  createTime: Date;
}

export interface SecretSource {
  /** The latest enabled version's value. `secret` is projects/P/secrets/S. */
  accessLatest(secret: string): Promise<{ value: Redacted<string>; version: string }>;
  /** A specific version's value. */
  accessVersion(versionName: string): Promise<Redacted<string>>;
  addVersion(secret: string, value: Redacted<string>): Promise<string>;
  listVersions(secret: string): Promise<SecretVersionInfo[]>;
  disableVersion(versionName: string): Promise<void>;
}

/** In-memory SecretSource for tests and local mode; same semantics as Secret Manager for what we use. */
export class InMemorySecretSource implements SecretSource {
  private readonly secrets = new Map<string, { value: string; info: SecretVersionInfo }[]>();
  /** Inject a failure into the next call of the named method (tests of rotation failure paths). */
  failNext: Partial<Record<keyof SecretSource, Error>> = {};

  private maybeFail(method: keyof SecretSource): void {
    const err = this.failNext[method];
    if (err) {
      delete this.failNext[method];
      throw err;
    }
  }

  async accessLatest(secret: string): Promise<{ value: Redacted<string>; version: string }> {
    this.maybeFail('accessLatest');
    const versions = (this.secrets.get(secret) ?? []).filter((v) => v.info.state === 'ENABLED');
    const latest = versions.at(-1);
    if (!latest) throw new AppError('SECRET_UNAVAILABLE', `secret ${secret} has no enabled version`, { transient: false });
    return { value: new Redacted(latest.value), version: latest.info.name };
  }

  async accessVersion(versionName: string): Promise<Redacted<string>> {
    this.maybeFail('accessVersion');
    for (const versions of this.secrets.values()) {
      const v = versions.find((x) => x.info.name === versionName);
      if (v) {
        if (v.info.state !== 'ENABLED') throw new AppError('SECRET_UNAVAILABLE', `secret version ${versionName} is ${v.info.state}`);
        return new Redacted(v.value);
      }
    }
    throw new AppError('SECRET_UNAVAILABLE', `secret version ${versionName} does not exist`);
  }

  async addVersion(secret: string, value: Redacted<string>): Promise<string> {
    this.maybeFail('addVersion');
    const versions = this.secrets.get(secret) ?? [];
    const name = `${secret}/versions/${versions.length + 1}`;
    versions.push({ value: value.reveal(), info: { name, state: 'ENABLED', createTime: new Date() } });
    this.secrets.set(secret, versions);
    return name;
  }

  /** Moves a version's creation time (tests: a version made "a day ago"). */
  backdate(versionName: string, createTime: Date): void {
    for (const versions of this.secrets.values()) {
      const v = versions.find((x) => x.info.name === versionName);
      if (v) v.info.createTime = createTime;
    }
  }

  async listVersions(secret: string): Promise<SecretVersionInfo[]> {
    this.maybeFail('listVersions');
    return (this.secrets.get(secret) ?? []).map((v) => ({ ...v.info })).reverse();
  }

  async disableVersion(versionName: string): Promise<void> {
    this.maybeFail('disableVersion');
    for (const versions of this.secrets.values()) {
      const v = versions.find((x) => x.info.name === versionName);
      if (v) {
        v.info.state = 'DISABLED';
        return;
      }
    }
    throw new AppError('SECRET_UNAVAILABLE', `secret version ${versionName} does not exist`);
  }
}

/**
 * The real Secret Manager client (Application Default Credentials). Loaded lazily: the CLI rarely
 * needs it. `endpoint` (host:port) points the same client at a plaintext gRPC server instead: the
 * deploy rehearsal's stand-in (never set in the cloud).
 */
export async function createGcpSecretSource(options: { endpoint?: string } = {}): Promise<SecretSource> {
  const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
  let client: InstanceType<typeof SecretManagerServiceClient>;
  if (options.endpoint) {
    const { credentials } = await import('@grpc/grpc-js');
    const i = options.endpoint.lastIndexOf(':');
    client = new SecretManagerServiceClient({ apiEndpoint: options.endpoint.slice(0, i), port: Number(options.endpoint.slice(i + 1)), sslCreds: credentials.createInsecure() });
  } else {
    client = new SecretManagerServiceClient();
  }
  const wrap = (err: unknown, what: string): AppError => {
    const code = (err as { code?: number }).code;
    // gRPC codes: 5 NOT_FOUND, 7 PERMISSION_DENIED, 16 UNAUTHENTICATED, 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED
    const transient = code === 14 || code === 4 || code === 8;
    return new AppError('SECRET_UNAVAILABLE', `Secret Manager: could not ${what} (gRPC code ${code ?? 'unknown'}); check that the secret exists and that this identity has roles/secretmanager.secretAccessor on it`, { transient, cause: err });
  };
  return {
    async accessLatest(secret) {
      try {
        const [res] = await client.accessSecretVersion({ name: `${secret}/versions/latest` });
        const data = res.payload?.data;
        const value = typeof data === 'string' ? data : Buffer.from(data ?? new Uint8Array()).toString('utf8');
        return { value: new Redacted(value), version: res.name ?? `${secret}/versions/latest` };
      } catch (err) {
        throw wrap(err, `read ${secret}`);
      }
    },
    async accessVersion(versionName) {
      try {
        const [res] = await client.accessSecretVersion({ name: versionName });
        const data = res.payload?.data;
        return new Redacted(typeof data === 'string' ? data : Buffer.from(data ?? new Uint8Array()).toString('utf8'));
      } catch (err) {
        throw wrap(err, `read ${versionName}`);
      }
    },
    async addVersion(secret, value) {
      try {
        const [res] = await client.addSecretVersion({ parent: secret, payload: { data: Buffer.from(value.reveal(), 'utf8') } });
        return res.name ?? '';
      } catch (err) {
        throw wrap(err, `add a version to ${secret}`);
      }
    },
    async listVersions(secret) {
      try {
        const [versions] = await client.listSecretVersions({ parent: secret });
        return versions.map((v) => ({
          name: v.name ?? '',
          state: (v.state as SecretVersionInfo['state']) ?? 'ENABLED',
          createTime: new Date(Number(v.createTime?.seconds ?? 0) * 1000),
        }));
      } catch (err) {
        throw wrap(err, `list versions of ${secret}`);
      }
    },
    async disableVersion(versionName) {
      try {
        await client.disableSecretVersion({ name: versionName });
      } catch (err) {
        throw wrap(err, `disable ${versionName}`);
      }
    },
  };
}
