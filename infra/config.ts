// Typed, validated settings for one deployment (one stack): read from infra/deployments/<name>.json
// (or the file named by AQE_DEPLOYMENT_CONFIG), checked with zod, every problem reported at once.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';

/** The IAP TCP-forwarding source range (Google documented, fixed). */
export const IAP_SOURCE_RANGE = '35.235.240.0/20';

const nameRe = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const envNameRe = /^[a-z][a-z0-9-]{0,10}[a-z0-9]$/;
const cidrRe = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const durationRe = /^(\d+)s$/;
const memoryRe = /^\d+(Mi|Gi|M|G)$/;
const cronRe = /^(\S+\s+){4}\S+$/;
/** A PostgreSQL role or database name we create (lower case, no quoting needed). */
const roleRe = /^[a-z_][a-z0-9_]{0,62}$/;
/** A Docker reference pinned by a tag other than `latest`, or by digest. */
const imageRe = /^[a-z0-9][a-z0-9._/-]*(:(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

function cidr(expectedPrefix?: number) {
  return z.string().refine(
    (v) => {
      const m = cidrRe.exec(v);
      if (!m) return false;
      const octets = m.slice(1, 5).map(Number);
      const bits = Number(m[5]);
      if (octets.some((o) => o > 255) || bits > 32) return false;
      return expectedPrefix === undefined || bits === expectedPrefix;
    },
    { message: expectedPrefix ? `expected an IPv4 CIDR with a /${expectedPrefix} prefix, e.g. 10.8.0.0/${expectedPrefix}` : 'expected an IPv4 CIDR, e.g. 10.10.0.0/24' },
  );
}

/** IAM members allowed to operate the database: groups or service accounts, never individual users. */
const operatorMember = z
  .string()
  .refine((m) => /^(group|serviceAccount):\S+@\S+$/.test(m), {
    message:
      'expected "group:<email>" or "serviceAccount:<email>"; individual "user:" members are refused (grant to a group so access is reviewed in one place: trivy GCP-0003)',
  });

/** Identities that upload snapshots: a service account, or a workload identity federation principal. */
const uploaderMember = z
  .string()
  .refine((m) => /^serviceAccount:\S+@\S+$/.test(m) || /^principal(Set)?:\/\/iam\.googleapis\.com\/\S+$/.test(m), {
    message:
      'expected "serviceAccount:<email>" or a workload identity member "principal://iam.googleapis.com/…" / "principalSet://iam.googleapis.com/…"; "user:" and "group:" are refused (uploaders are machines)',
  });

const environmentSchema = z
  .object({
    /** Environment name, as in `aqe-upload push --env <name>` and the `snapshots/<env>/` prefix. */
    name: z.string().regex(envNameRe, 'expected 2-12 chars of a-z, 0-9, "-", starting with a letter'),
    /** Existing identities allowed to upload for this environment. */
    uploaders: z.array(uploaderMember).default([]),
    /**
     * Groups or service accounts allowed to impersonate an uploader service account created for
     * this environment (e.g. developers pushing from laptops). Empty: no account is created.
     */
    impersonators: z.array(operatorMember).default([]),
  })
  .strict();

/** The database engines a deployment can run on. */
export const DATABASE_ENGINES = ['vm-ruvector', 'cloudsql-pgvector'] as const;
export type DatabaseEngine = (typeof DATABASE_ENGINES)[number];

/** A Cloud SQL machine tier: dedicated-core custom shapes, or the shared-core ones (no SLA, no HA). */
const cloudSqlTierRe = /^db-(custom-\d{1,2}-\d{3,6}|f1-micro|g1-small)$/;
const dayOfWeek = z.number().int().min(1).max(7);

const cloudSqlSchema = z
  .object({
    /** PostgreSQL major version (pgvector is the `vector` extension on every one of these). */
    version: z.enum(['POSTGRES_15', 'POSTGRES_16', 'POSTGRES_17']).default('POSTGRES_17'),
    /**
     * Enterprise edition machine tier: db-custom-<vCPUs>-<memory MB>. The default (1 vCPU, 3.75 GB)
     * is the smallest dedicated-core shape: covered by the SLA, and the smallest that may be HA.
     */
    tier: z.string().regex(cloudSqlTierRe, 'expected a Cloud SQL tier like db-custom-1-3840 (vCPUs-memory MB), db-g1-small or db-f1-micro').default('db-custom-1-3840'),
    /** Regional high availability: a standby in a second zone with synchronous replication (doubles the instance price). */
    highAvailability: z.boolean().default(false),
    diskSizeGb: z.number().int().min(10).max(65536).default(20),
    diskType: z.enum(['PD_SSD', 'PD_HDD']).default('PD_SSD'),
    /** Automatic storage increase up to this many GB (0: no limit). */
    diskAutoresizeLimitGb: z.number().int().min(0).max(65536).default(200),
    /** Daily automated backup window start (UTC, HH:MM) and how many backups are kept. */
    backupStartTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (UTC)').default('03:00'),
    retainedBackups: z.number().int().min(1).max(365).default(14),
    /** Point-in-time recovery window: days of write-ahead log kept (1-7 on Enterprise edition). */
    pitrDays: z.number().int().min(1).max(7).default(7),
    /** Maintenance window: day (1 = Monday … 7 = Sunday) and hour (UTC). */
    maintenanceDay: dayOfWeek.default(7),
    maintenanceHour: z.number().int().min(0).max(23).default(4),
    /**
     * The range reserved for private services access (Cloud SQL's private IP comes from it): an
     * unused block of the VPC's address space, /16 to /24.
     */
    privateServicesCidr: z
      .string()
      .refine((v) => cidrRe.test(v) && Number(v.split('/')[1]) >= 16 && Number(v.split('/')[1]) <= 24, 'expected an IPv4 CIDR from /16 to /24, e.g. 10.20.0.0/20')
      .default('10.20.0.0/20'),
    /** The operators' SSH bastion (IAP only; it forwards the Postgres port to the private IP). */
    bastionMachineType: z.string().regex(/^[a-z0-9]+-[a-z0-9-]+$/).default('e2-micro'),
    /** When the bootstrap function re-applies the roles and grants (a 5-field cron, in schedules.timeZone). */
    bootstrapSchedule: z.string().regex(/^(\S+\s+){4}\S+$/, 'expected a 5-field cron expression').default('23 3 * * *'),
  })
  .strict();

const backendSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('local') }).strict(),
  z.object({ type: z.literal('gcs'), bucket: z.string().min(3), prefix: z.string().min(1).optional() }).strict(),
]);

export const deploymentConfigSchema = z
  .object({
    /** Deployment name; the stack is `aqe-<name>`. Defaults to the config file's base name. */
    name: z.string().regex(nameRe, 'expected a-z, 0-9 and "-"').max(20),
    project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'expected a GCP project id (6-30 chars, a-z, 0-9, "-")'),
    region: z.string().regex(/^[a-z]+-[a-z]+\d+$/, 'expected a region like europe-west1'),
    zone: z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'expected a zone like europe-west1-b'),
    /** Prefix of every resource name (keep it short: service-account ids are limited to 30 chars). */
    namePrefix: z.string().regex(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/, 'expected 2-10 chars of a-z, 0-9, "-"').default('aqe'),
    labels: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/), z.string().regex(/^[a-z0-9_-]{0,63}$/)).default({}),
    network: z
      .object({
        subnetCidr: cidr().default('10.10.0.0/24'),
        /** Serverless VPC Access connector range: an unused /28. The only source allowed to reach 5432 besides IAP. */
        connectorCidr: cidr(28).default('10.8.0.0/28'),
        connectorMinInstances: z.number().int().min(2).max(9).default(2),
        connectorMaxInstances: z.number().int().min(3).max(10).default(3),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /**
         * Where PostgreSQL runs. `vm-ruvector`: the private VM running ruvector-postgres (the default).
         * `cloudsql-pgvector`: Cloud SQL for PostgreSQL with pgvector on a private IP only (`cloudSql`
         * below), for teams that outgrow one VM (infra/DEPLOY.md "Choosing the database engine").
         */
        engine: z.enum(DATABASE_ENGINES).default('vm-ruvector'),
        /**
         * e2-medium (2 shared vCPU, 4 GB): the cheapest shape that gives the container the 2 GB the
         * image's own compose file reserves, plus room for COS, Docker and HNSW index builds.
         */
        machineType: z.string().regex(/^[a-z0-9]+-[a-z0-9-]+$/).default('e2-medium'),
        /** ruvector-postgres image, pinned by tag (not latest) or digest (engine vm-ruvector: required). */
        image: z.string().regex(imageRe, 'expected an image pinned by tag (not "latest") or @sha256 digest, e.g. ruvnet/ruvector-postgres:2.0.5').optional(),
        bootImage: z.string().min(3).default('cos-cloud/cos-stable'),
        dataDiskSizeGb: z.number().int().min(10).max(65536).default(20),
        dataDiskType: z.enum(['pd-balanced', 'pd-ssd', 'pd-standard']).default('pd-balanced'),
        dbName: z.string().regex(roleRe).default('aqe'),
        /** The image's POSTGRES_USER: a superuser, used only by the boot-time bootstrap over the container's local socket. */
        adminUser: z.string().regex(roleRe).default('aqe_admin'),
        /** The functions' role: owns schema aqe, no superuser, no CREATEROLE/CREATEDB; its password is the rotated secret. */
        dbUser: z.string().regex(roleRe).default('aqe_sync'),
        /** The operators' read-only role (SELECT on schema aqe); its password is a second rotated secret. */
        readerUser: z.string().regex(roleRe).default('aqe_reader'),
        /** Daily disk snapshot start time (UTC, on the hour) and how many days they are kept. */
        snapshotStartTime: z.string().regex(/^([01]\d|2[0-3]):00$/, 'expected HH:00 (UTC)').default('03:00'),
        snapshotRetentionDays: z.number().int().min(1).max(365).default(14),
        /** VM deletion protection and prevent_destroy on the data disk (Cloud SQL: deletion protection on the instance). */
        deletionProtection: z.boolean().default(true),
        /** Engine cloudsql-pgvector only: the managed instance. */
        cloudSql: cloudSqlSchema.prefault({}),
      })
      .strict(),
    secret: z
      .object({
        rotationPeriod: z
          .string()
          .regex(durationRe, 'expected seconds like "2592000s"')
          .refine((v) => Number(v.slice(0, -1)) >= 3600, 'rotation period must be at least 3600s')
          .default('2592000s'),
        /** First rotation (RFC 3339, UTC). A constant, so synth stays deterministic; Secret Manager advances it. */
        nextRotationTime: z.iso.datetime({ message: 'expected an RFC 3339 UTC time like 2027-01-01T00:00:00Z' }),
        /** Hours before rotateSecret disables the previous version (clients re-read on auth failure). */
        rotationGraceHours: z.number().int().min(1).max(720).default(24),
      })
      .strict(),
    bucket: z
      .object({
        /** Globally unique; defaults to `<project>-<prefix>-snapshots`. */
        name: z
          .string()
          .regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/)
          .optional(),
        /** Bucket location; defaults to the region. The load trigger must live in the same location. */
        location: z.string().optional(),
        /** Manifests under snapshots/ are deleted this many days after creation (the retention age). */
        manifestRetentionDays: z.number().int().min(1).max(3650).default(90),
        quarantineDays: z.number().int().min(1).max(3650).default(30),
        noncurrentVersionDays: z.number().int().min(1).max(3650).default(7),
      })
      .strict()
      .prefault({}),
    environments: z.array(environmentSchema).min(1, 'expected at least one environment'),
    /**
     * Who may open the IAP tunnel to the database VM, SSH with OS Login (no sudo), read the
     * functions' logs and (with operatorsReadPassword) the read-only role's password.
     */
    operators: z.array(operatorMember).default([]),
    /**
     * Who runs the runbook's privileged steps (infra/DEPLOY.md): OS Login with sudo on the database
     * VM only, reset it, run the reconcile job by hand, change the rotation schedule.
     */
    admins: z.array(operatorMember).default([]),
    /**
     * Operators may read the read-only role's password secret (needed for `aqe-upload search
     * --database …` through the tunnel). Never the functions' password.
     */
    operatorsReadPassword: z.boolean().default(true),
    functions: z
      .object({
        loaderMemory: z.string().regex(memoryRe).default('1Gi'),
        maxInstances: z.number().int().min(1).max(100).default(3),
        embedBudgetSeconds: z.number().int().min(0).max(3000).default(240),
        logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        /**
         * Ingress of the HTTP reconcile function. Internal-only is the goal; ALLOW_ALL (IAM still
         * required) is the documented fallback if Cloud Scheduler cannot reach an internal service.
         */
        reconcileIngress: z.enum(['ALLOW_INTERNAL_ONLY', 'ALLOW_ALL']).default('ALLOW_INTERNAL_ONLY'),
        /**
         * A local all-MiniLM-L6-v2 folder to bundle into the function source (AQE_MODEL_DIR is then
         * set). Unset: the functions download and cache the model at cold start.
         */
        modelDir: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    schedules: z
      .object({
        timeZone: z.string().default('Etc/UTC'),
        reconcile: z
          .array(
            z
              .object({
                id: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/),
                schedule: z.string().regex(cronRe, 'expected a 5-field cron expression'),
                /** JSON body posted to reconcile. */
                body: z.record(z.string(), z.unknown()).default({}),
              })
              .strict(),
          )
          .min(1)
          .default([{ id: 'hourly', schedule: '7 * * * *', body: {} }]),
      })
      .strict()
      .prefault({}),
    alerts: z
      .object({
        /** Where alerts go; the thresholds are the design's (infra/constructs/alerts.ts ALERT_THRESHOLDS). */
        emails: z.array(z.email()).default([]),
      })
      .strict()
      .prefault({}),
    backend: backendSchema.default({ type: 'local' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.zone.startsWith(`${c.region}-`)) {
      ctx.addIssue({ code: 'custom', path: ['zone'], message: `zone ${c.zone} is not in region ${c.region}` });
    }
    if (cidrsOverlap(c.network.subnetCidr, c.network.connectorCidr)) {
      ctx.addIssue({ code: 'custom', path: ['network', 'connectorCidr'], message: `${c.network.connectorCidr} overlaps the subnet ${c.network.subnetCidr}` });
    }
    const seen = new Set<string>();
    c.environments.forEach((e, i) => {
      if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: ['environments', i, 'name'], message: `duplicate environment "${e.name}"` });
      seen.add(e.name);
      if (e.uploaders.length === 0 && e.impersonators.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['environments', i], message: `environment "${e.name}" has no uploaders and no impersonators: nobody could push` });
      }
    });
    if (c.database.engine === 'vm-ruvector' && !c.database.image) {
      ctx.addIssue({ code: 'custom', path: ['database', 'image'], message: 'engine vm-ruvector needs the ruvector-postgres image, pinned by tag or digest, e.g. ruvnet/ruvector-postgres:2.0.5' });
    }
    if (c.database.engine === 'cloudsql-pgvector') {
      const sql = c.database.cloudSql;
      if (sql.highAvailability && /^db-(f1-micro|g1-small)$/.test(sql.tier)) {
        ctx.addIssue({ code: 'custom', path: ['database', 'cloudSql', 'tier'], message: `${sql.tier} is a shared-core tier: no SLA and no high availability; use a db-custom-<vCPUs>-<MB> tier with highAvailability` });
      }
      for (const [field, range] of [['subnetCidr', c.network.subnetCidr], ['connectorCidr', c.network.connectorCidr]] as const) {
        if (cidrRe.test(sql.privateServicesCidr) && cidrsOverlap(sql.privateServicesCidr, range)) {
          ctx.addIssue({ code: 'custom', path: ['database', 'cloudSql', 'privateServicesCidr'], message: `${sql.privateServicesCidr} overlaps network.${field} ${range}` });
        }
      }
      if (c.database.image) {
        ctx.addIssue({ code: 'custom', path: ['database', 'image'], message: 'engine cloudsql-pgvector runs no container image: remove database.image (or use engine vm-ruvector)' });
      }
    }
    const roles = { 'database.adminUser': c.database.adminUser, 'database.dbUser': c.database.dbUser, 'database.readerUser': c.database.readerUser };
    const seenRoles = new Map<string, string>();
    for (const [field, role] of Object.entries(roles)) {
      const other = seenRoles.get(role);
      if (other) ctx.addIssue({ code: 'custom', path: field.split('.'), message: `"${role}" is also ${other}: the superuser, the functions' role and the read-only role must be three different roles` });
      seenRoles.set(role, field);
      // the image's init script creates a LOGIN role "ruvector" that the bootstrap locks
      if (role.startsWith('cloudsql')) ctx.addIssue({ code: 'custom', path: field.split('.'), message: `"${role}" is reserved by Cloud SQL (cloudsqlsuperuser, cloudsqladmin, …); choose another name` });
      if (role === 'ruvector' || role === 'postgres') ctx.addIssue({ code: 'custom', path: field.split('.'), message: `"${role}" is a role of the image itself; choose another name` });
    }
    const ids = c.schedules.reconcile.map((s) => s.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['schedules', 'reconcile'], message: 'schedule ids must be unique' });
  });

export type DeploymentConfig = z.output<typeof deploymentConfigSchema>;
export type DeploymentConfigInput = z.input<typeof deploymentConfigSchema>;
export type EnvironmentConfig = DeploymentConfig['environments'][number];

export type ParseResult = { ok: true; config: DeploymentConfig } | { ok: false; issues: string[] };

/** Validates raw JSON; returns every issue as `path: message`. Pure. */
export function parseDeploymentConfig(raw: unknown): ParseResult {
  const r = deploymentConfigSchema.safeParse(raw);
  if (r.success) return { ok: true, config: Object.freeze(r.data) as DeploymentConfig };
  return {
    ok: false,
    issues: r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`),
  };
}

/** A deployment file that failed to load: lists every problem at once. */
export class DeploymentConfigError extends Error {
  readonly issues: readonly string[];
  constructor(file: string, issues: string[]) {
    super(`${file}: invalid deployment config (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n  - ${issues.join('\n  - ')}`);
    this.name = 'DeploymentConfigError';
    this.issues = issues;
  }
}

/** Reads and validates one deployment file. The `name` defaults to the file's base name. */
export function loadDeploymentConfigFile(file: string): DeploymentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DeploymentConfigError(file, [`cannot read JSON: ${(e as Error).message}`]);
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && !('name' in raw)) {
    raw = { ...raw, name: basename(file, '.json') };
  }
  const r = parseDeploymentConfig(raw);
  if (!r.ok) throw new DeploymentConfigError(file, r.issues);
  return r.config;
}

/**
 * The deployment files to synthesize: AQE_DEPLOYMENT_CONFIG (a path), else AQE_DEPLOYMENT (a name
 * under infra/deployments/), else every *.json in infra/deployments/. Pure given `env` and the disk.
 */
export function deploymentFiles(root: string, env: NodeJS.ProcessEnv): string[] {
  const dir = join(root, 'infra', 'deployments');
  if (env.AQE_DEPLOYMENT_CONFIG) return [resolve(root, env.AQE_DEPLOYMENT_CONFIG)];
  if (env.AQE_DEPLOYMENT) return [join(dir, `${env.AQE_DEPLOYMENT}.json`)];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** True when two IPv4 CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const [ipA = '', bitsA = '32'] = a.split('/');
  const [ipB = '', bitsB = '32'] = b.split('/');
  const size = (bits: string) => 2 ** (32 - Number(bits));
  const startA = toInt(ipA) - (toInt(ipA) % size(bitsA));
  const startB = toInt(ipB) - (toInt(ipB) % size(bitsB));
  return startA < startB + size(bitsB) && startB < startA + size(bitsA);
}

/** Resource names derived from the config, in one place (names are API: changing one replaces a resource). */
export function resourceNames(c: DeploymentConfig) {
  const p = c.namePrefix;
  return {
    stack: `aqe-${c.name}`,
    network: `${p}-vpc`,
    subnet: `${p}-subnet`,
    connector: `${p}-conn`,
    vm: `${p}-db`,
    dataDisk: `${p}-db-data`,
    snapshotPolicy: `${p}-db-daily`,
    dbTag: `${p}-db`,
    /** The functions' role password (rotated). */
    secretId: `${p}-db-password`,
    /** The read-only role password (rotated). */
    readerSecretId: `${p}-db-reader-password`,
    rotationTopic: `${p}-db-password-rotation`,
    /** Reserved internal address of the database VM (the functions' AQE_DB_HOST). */
    dbAddress: `${p}-db-ip`,
    /** Artifact Registry remote repository mirroring Docker Hub (the VM pulls through it: no NAT). */
    imageMirror: `${p}-dockerhub`,
    /** Artifact Registry repository of the functions' images (with a cleanup policy). */
    functionImages: `${p}-functions`,
    /** Pub/Sub topic the bucket notifies for manifests only (the loader's trigger). */
    manifestTopic: `${p}-manifests`,
    bucket: c.bucket.name ?? `${c.project}-${p}-snapshots`,
    sourceBucket: `${c.project}-${p}-fn-src`,
    functions: { loadSnapshot: `${p}-load-snapshot`, reconcile: `${p}-reconcile`, rotateSecret: `${p}-rotate-secret`, bootstrapDatabase: `${p}-db-bootstrap` },
    /** Engine cloudsql-pgvector: the instance, its private services range, the admin role's password, the operators' bastion. */
    sqlInstance: `${p}-pg`,
    privateServicesRange: `${p}-psa-range`,
    adminSecretId: `${p}-db-admin-password`,
    bastion: `${p}-sql-bastion`,
    bastionTag: `${p}-sql-bastion`,
    bootstrapJob: `${p}-db-bootstrap-daily`,
    /** Service-account ids: 6-30 chars. */
    sa: {
      vm: `${p}-db-vm`,
      build: `${p}-fn-build`,
      loadSnapshot: `${p}-loader`,
      reconcile: `${p}-reconcile`,
      rotateSecret: `${p}-rotate`,
      scheduler: `${p}-scheduler`,
      bootstrapDatabase: `${p}-db-boot`,
      bastion: `${p}-sql-bastion`,
      uploader: (env: string) => `${p}-up-${env}`,
      trigger: (fn: string) => `${p}-${fn}-trg`,
    },
  } as const;
}
export type ResourceNames = ReturnType<typeof resourceNames>;
