// Names shared with infra/: the Functions Framework entry points and the environment variables
// each function reads. Infra imports only this file from functions/.

/** Registered Functions Framework targets (Cloud Functions `entryPoint`). */
export const ENTRY_POINTS = {
  loadSnapshot: 'loadSnapshot',
  reconcile: 'reconcile',
  rotateSecret: 'rotateSecret',
} as const;

/**
 * Targets deployed only with the managed database (engine cloudsql-pgvector): the bootstrap that
 * makes the roles, schema and grants as the instance's admin role (functions/bootstrap-db/).
 */
export const MANAGED_DB_ENTRY_POINTS = {
  bootstrapDatabase: 'bootstrapDatabase',
} as const;

/** Environment variables read by the functions' `config.ts` (values set by infra). */
export const CONFIG_ENV = {
  /** Private IP or host name of the database VM. */
  dbHost: 'AQE_DB_HOST',
  dbPort: 'AQE_DB_PORT',
  dbName: 'AQE_DB_NAME',
  dbUser: 'AQE_DB_USER',
  /** Secret Manager resource name of the password: projects/P/secrets/S (latest version is read). */
  dbPasswordSecret: 'AQE_DB_PASSWORD_SECRET',
  /** Snapshot bucket name (no gs://). */
  bucket: 'AQE_BUCKET',
  /** Optional prefix inside the bucket. */
  bucketPrefix: 'AQE_BUCKET_PREFIX',
  /** Local model folder (all-MiniLM-L6-v2 with config.json, tokenizer.json, onnx/). */
  modelDir: 'AQE_MODEL_DIR',
  /** Seconds of embedding work per load before the rest is left pending. */
  embedBudgetSeconds: 'AQE_EMBED_BUDGET_SECONDS',
  /** Reconcile: retention of manifests, in days. */
  retentionDays: 'AQE_RETENTION_DAYS',
  /** rotateSecret: grace period (hours) before the previous secret version is disabled. */
  rotationGraceHours: 'AQE_ROTATION_GRACE_HOURS',
  /** rotateSecret: a SECRET_ROTATE within this many minutes of the latest version's creation is a redelivery (skipped). */
  rotationMinIntervalMinutes: 'AQE_ROTATION_MIN_INTERVAL_MINUTES',
  /** Reconcile: blobs (and manifests) younger than this many hours are never deleted (pushes in progress). */
  retentionSafetyHours: 'AQE_RETENTION_SAFETY_HOURS',
  /** Reconcile: seconds of work per invocation (loads stop starting, embeddings stop) before the function timeout. */
  reconcileBudgetSeconds: 'AQE_RECONCILE_BUDGET_SECONDS',
  logLevel: 'AQE_LOG_LEVEL',
  /** Full database URL instead of host/name/user + secret (local runs and tests; never set by infra). */
  databaseUrl: 'AQE_DATABASE_URL',
  /** Cloud Storage JSON API endpoint override (tests against the local GCS server; never set by infra). */
  gcsApiEndpoint: 'AQE_GCS_API_ENDPOINT',
  /** Secret Manager gRPC endpoint `host:port`, plaintext (the deploy rehearsal's stand-in; never set by infra). */
  secretManagerEndpoint: 'AQE_SECRET_MANAGER_ENDPOINT',
  /** rotateSecret: the read-only role, rotated like the functions' role. */
  dbReaderUser: 'AQE_DB_READER_USER',
  /** rotateSecret: Secret Manager resource name of the read-only role's password. */
  dbReaderPasswordSecret: 'AQE_DB_READER_PASSWORD_SECRET',
  /**
   * PEM of the CA the database server's certificate must chain to: set, every connection uses TLS
   * and verifies the chain (not the host name: Cloud SQL's certificate names the instance, and the
   * functions connect to its private IP). Unset: no TLS (the private VM).
   */
  dbSslCa: 'AQE_DB_SSL_CA',
  /** bootstrapDatabase and rotateSecret (managed database): the API-created admin role. */
  dbAdminUser: 'AQE_DB_ADMIN_USER',
  /** Secret Manager resource name of the admin role's password (rotated like the others). */
  dbAdminPasswordSecret: 'AQE_DB_ADMIN_PASSWORD_SECRET',
} as const;

/** Variables infra must never set: local and test overrides of the cloud services. */
export const LOCAL_ONLY_ENV = [CONFIG_ENV.databaseUrl, CONFIG_ENV.gcsApiEndpoint, CONFIG_ENV.secretManagerEndpoint] as const;

/**
 * Structured log events (the `event` field of one JSON line, with `env`) that the alerts and the
 * log-based metrics depend on.
 */
export const LOG_EVENTS = {
  /** loader: a snapshot loaded. */
  syncSucceeded: 'sync_succeeded',
  /** loader: a snapshot failed or was quarantined. */
  syncFailed: 'sync_failed',
  /** loadSnapshot: seconds from the manifest's object creation to its load (`lagSeconds`). */
  syncLag: 'sync_lag',
  /** reconcile: per environment and run, `newestSnapshotAgeSeconds` and `failureRate` (last 24 h). */
  environmentHealth: 'environment_health',
} as const;
