// One deployment of aqe-cloud-sync: network, the database (engine vm-ruvector: the private VM with
// its image through an Artifact Registry mirror, no NAT; engine cloudsql-pgvector: Cloud SQL on a
// private IP, its bootstrap function and the operators' IAP bastion), the rotated role passwords,
// snapshot bucket (manifests notify the loader), the functions, the schedules and the alerts.
// Composition only: every resource lives in a construct; this file wires identities to grants.
import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project/index.js';
import { DataGoogleStorageProjectServiceAccount } from '@cdktf/provider-google/lib/data-google-storage-project-service-account/index.js';
import { ProjectIamCustomRole } from '@cdktf/provider-google/lib/project-iam-custom-role/index.js';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member/index.js';
import { GcsBackend, LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job/index.js';
import type { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance/index.js';
import { CONFIG_ENV, ENTRY_POINTS, MANAGED_DB_ENTRY_POINTS } from '../../functions/entry-points.js';
import { type DeploymentConfig, resourceNames } from '../config.js';
import { Alerts } from '../constructs/alerts.js';
import { DockerHubMirror, FunctionImageRepository } from '../constructs/artifact-repositories.js';
import { CloudSqlDatabase } from '../constructs/cloud-sql-database.js';
import { DatabaseSecret } from '../constructs/database-secret.js';
import { FunctionSource } from '../constructs/function-source.js';
import { POSTGRES_PORT, Network } from '../constructs/network.js';
import { NodeFunction } from '../constructs/node-function.js';
import { memberId, OperatorAccess } from '../constructs/operator-access.js';
import { PrivateDatabaseVm } from '../constructs/private-database-vm.js';
import { CLOUD_SQL_APIS, ProjectApis } from '../constructs/project-apis.js';
import { ReconcileScheduler } from '../constructs/scheduler.js';
import { BUCKET_PREFIXES, SnapshotBucket } from '../constructs/snapshot-bucket.js';
import { SqlBastion } from '../constructs/sql-bastion.js';

/** Where a bundled model sits inside the deployed function (the source root is /workspace). */
export const BUNDLED_MODEL_DIR = '/workspace/model';

export interface SyncStackProps {
  readonly config: DeploymentConfig;
  /** Staged function package (see stage-functions.ts). */
  readonly functionSourceDir: string;
  /** True when the staged package contains the embedding model under model/. */
  readonly modelBundled?: boolean;
}

export class SyncStack extends TerraformStack {
  /** Engine vm-ruvector: the database VM. */
  readonly vm: PrivateDatabaseVm | undefined;
  /** Engine cloudsql-pgvector: the Cloud SQL instance, the operators' bastion, the admin role's password. */
  readonly cloudSql: CloudSqlDatabase | undefined;
  readonly bastion: SqlBastion | undefined;
  readonly adminSecret: DatabaseSecret | undefined;
  readonly bucket: SnapshotBucket;
  /** The functions' role password. */
  readonly secret: DatabaseSecret;
  /** The read-only role password (operators). */
  readonly readerSecret: DatabaseSecret;
  readonly functions: { readonly loadSnapshot: NodeFunction; readonly reconcile: NodeFunction; readonly rotateSecret: NodeFunction; readonly bootstrapDatabase?: NodeFunction };
  readonly tunnelCommand: string;

  constructor(scope: Construct, id: string, props: SyncStackProps) {
    super(scope, id);
    const c = props.config;
    const n = resourceNames(c);
    const { project, region, zone } = c;
    const labels = { app: 'aqe-cloud-sync', deployment: c.name, ...c.labels };

    new GoogleProvider(this, 'google', { project, region, zone });
    if (c.backend.type === 'gcs') {
      new GcsBackend(this, { bucket: c.backend.bucket, prefix: c.backend.prefix ?? `aqe/${c.name}` });
    } else {
      // Relative to cdktf.out/stacks/<stack>/ where terraform runs: the state sits at the repo root.
      new LocalBackend(this, { path: `../../../terraform.${id}.tfstate` });
    }

    const managed = c.database.engine === 'cloudsql-pgvector';
    const apis = new ProjectApis(this, 'apis', { project, ...(managed ? { extra: CLOUD_SQL_APIS } : {}) });
    const dependsOn = apis.services;
    const projectData = new DataGoogleProject(this, 'project', { projectId: project });

    const network = new Network(this, 'network', {
      project,
      region,
      names: { network: n.network, subnet: n.subnet, connector: n.connector },
      subnetCidr: c.network.subnetCidr,
      connectorCidr: c.network.connectorCidr,
      connectorMinInstances: c.network.connectorMinInstances,
      connectorMaxInstances: c.network.connectorMaxInstances,
      dependsOn,
    });
    if (!managed) network.protectDatabase(n.dbTag, c.namePrefix);

    const secretProps = { project, projectData, rotationPeriod: c.secret.rotationPeriod, nextRotationTime: c.secret.nextRotationTime, labels, dependsOn };
    this.secret = new DatabaseSecret(this, 'db-secret', { ...secretProps, secretId: n.secretId, topicName: n.rotationTopic });
    // the read-only role's password: rotated by the same function, announced on the same topic
    this.readerSecret = new DatabaseSecret(this, 'db-reader-secret', {
      ...secretProps,
      secretId: n.readerSecretId,
      sharedTopic: { topic: this.secret.rotationTopic, publisher: this.secret.topicPublisher },
    });

    let dbHost: string;
    let dbPort = POSTGRES_PORT;
    /** Engine cloudsql-pgvector: TLS to the instance, verified against its server CA. */
    let dbTlsEnv: Record<string, string> = {};
    let operatorHost: { instance: ComputeInstance; serviceAccount: ServiceAccount };
    const rotated = [this.secret, this.readerSecret];
    if (!managed) {
      const mirror = new DockerHubMirror(this, 'image-mirror', { project, location: region, repositoryId: n.imageMirror, labels, dependsOn });

      const vm = new PrivateDatabaseVm(this, 'db', {
        project,
        region,
        zone,
        names: { vm: n.vm, dataDisk: n.dataDisk, snapshotPolicy: n.snapshotPolicy, serviceAccount: n.sa.vm, address: n.dbAddress },
        networkTag: n.dbTag,
        subnet: network.subnet,
        machineType: c.database.machineType,
        bootImage: c.database.bootImage,
        image: mirror.imageRef(c.database.image!),
        registryHost: mirror.registryHost,
        dataDiskSizeGb: c.database.dataDiskSizeGb,
        dataDiskType: c.database.dataDiskType,
        dbName: c.database.dbName,
        adminUser: c.database.adminUser,
        syncUser: c.database.dbUser,
        readerUser: c.database.readerUser,
        port: POSTGRES_PORT,
        syncSecretId: n.secretId,
        readerSecretId: n.readerSecretId,
        snapshotStartTime: c.database.snapshotStartTime,
        snapshotRetentionDays: c.database.snapshotRetentionDays,
        deletionProtection: c.database.deletionProtection,
        labels,
        dependsOn,
      });
      // the boot reads both passwords once, to create the roles; the image comes through the mirror
      this.secret.grant('db-vm', vm.serviceAccount.member, 'read');
      this.readerSecret.grant('db-vm', vm.serviceAccount.member, 'read');
      mirror.grant('db-vm-pull', vm.serviceAccount.member, 'roles/artifactregistry.reader');
      this.vm = vm;
      this.cloudSql = undefined;
      this.bastion = undefined;
      this.adminSecret = undefined;
      dbHost = vm.internalIp;
      operatorHost = { instance: vm.instance, serviceAccount: vm.serviceAccount };
    } else {
      const sql = c.database.cloudSql;
      // the admin role's password: read by the bootstrap function only, rotated like the others
      this.adminSecret = new DatabaseSecret(this, 'db-admin-secret', {
        ...secretProps,
        secretId: n.adminSecretId,
        sharedTopic: { topic: this.secret.rotationTopic, publisher: this.secret.topicPublisher },
      });
      rotated.push(this.adminSecret);
      this.cloudSql = new CloudSqlDatabase(this, 'cloud-sql', {
        project,
        region,
        names: { instance: n.sqlInstance, privateServicesRange: n.privateServicesRange },
        network: network.vpc,
        privateServicesCidr: sql.privateServicesCidr,
        version: sql.version,
        tier: sql.tier,
        highAvailability: sql.highAvailability,
        diskSizeGb: sql.diskSizeGb,
        diskType: sql.diskType,
        diskAutoresizeLimitGb: sql.diskAutoresizeLimitGb,
        backupStartTime: sql.backupStartTime,
        retainedBackups: sql.retainedBackups,
        pitrDays: sql.pitrDays,
        maintenanceDay: sql.maintenanceDay,
        maintenanceHour: sql.maintenanceHour,
        deletionProtection: c.database.deletionProtection,
        dbName: c.database.dbName,
        adminUser: c.database.adminUser,
        labels,
        dependsOn,
      });
      network.protectBastion(n.bastionTag, c.namePrefix);
      this.bastion = new SqlBastion(this, 'sql-bastion', {
        project,
        zone,
        names: { vm: n.bastion, serviceAccount: n.sa.bastion },
        networkTag: n.bastionTag,
        subnet: network.subnet,
        machineType: sql.bastionMachineType,
        bootImage: c.database.bootImage,
        labels,
        dependsOn,
      });
      this.vm = undefined;
      dbHost = this.cloudSql.privateIp;
      dbPort = POSTGRES_PORT;
      dbTlsEnv = { [CONFIG_ENV.dbSslCa]: this.cloudSql.serverCaCert };
      operatorHost = { instance: this.bastion.instance, serviceAccount: this.bastion.serviceAccount };
    }

    if (c.operatorsReadPassword) {
      for (const member of new Set([...c.operators, ...c.admins])) this.readerSecret.grant(`operator-${memberId(member)}`, member, 'read');
    }
    new OperatorAccess(this, 'operators', {
      project,
      zone,
      namePrefix: c.namePrefix,
      instance: operatorHost.instance,
      vmServiceAccount: operatorHost.serviceAccount,
      rotatedSecrets: rotated,
      operators: c.operators,
      admins: c.admins,
      dependsOn,
    });

    const bucketLocation = c.bucket.location ?? region;
    this.bucket = new SnapshotBucket(this, 'snapshots', {
      project,
      name: n.bucket,
      location: bucketLocation,
      manifestRetentionDays: c.bucket.manifestRetentionDays,
      quarantineDays: c.bucket.quarantineDays,
      noncurrentVersionDays: c.bucket.noncurrentVersionDays,
      labels,
      dependsOn,
    });

    // One permission each, bound on the snapshot bucket with a prefix condition.
    const onePermissionRole = (id: string, name: string, permission: string, why: string) =>
      new ProjectIamCustomRole(this, id, {
        project,
        roleId: `${c.namePrefix.replace(/-/g, '_')}_snapshot_${name}`,
        title: `aqe snapshot ${name.replace(/_/g, ' ')}`,
        description: `${permission} only (${why}); bound on the snapshot bucket with a prefix condition`,
        permissions: [permission],
        dependsOn,
      });
    // Metadata update only: a push touches the blobs it reuses (no content write, no delete).
    const toucher = onePermissionRole('object-toucher-role', 'blob_toucher', 'storage.objects.update', 'metadata, on blobs/');
    for (const env of c.environments) {
      for (const member of env.uploaders) this.bucket.grantUploader(`uploader-${env.name}-${memberId(member)}`, member, env.name, toucher.id);
      if (env.impersonators.length > 0) {
        // A per-environment uploader account that people (groups) act as: no keys anywhere.
        const sa = new ServiceAccount(this, `uploader-sa-${env.name}`, {
          project,
          accountId: n.sa.uploader(env.name),
          displayName: `aqe uploader (${env.name})`,
          description: `Pushes snapshots for environment ${env.name}: create-only under snapshots/${env.name}/ and blobs/, touches reused blobs`,
          dependsOn,
        });
        this.bucket.grantUploader(`uploader-${env.name}-sa`, sa.member, env.name, toucher.id);
        for (const member of env.impersonators) {
          new ServiceAccountIamMember(this, `uploader-sa-${env.name}-impersonator-${memberId(member)}`, {
            serviceAccountId: sa.name,
            role: 'roles/iam.serviceAccountTokenCreator',
            member,
          });
        }
      }
    }

    const images = new FunctionImageRepository(this, 'function-images', { project, location: region, repositoryId: n.functionImages, labels, dependsOn });
    const source = new FunctionSource(this, 'function-source', {
      project,
      projectData,
      location: region,
      bucketName: n.sourceBucket,
      buildServiceAccountId: n.sa.build,
      stagedDir: props.functionSourceDir,
      images,
      labels,
      dependsOn,
    });

    // Values only: the password is read from Secret Manager at run time, never passed in.
    const dbEnv: Record<string, string> = {
      [CONFIG_ENV.dbHost]: dbHost,
      [CONFIG_ENV.dbPort]: dbPort,
      ...dbTlsEnv,
      [CONFIG_ENV.dbName]: c.database.dbName,
      [CONFIG_ENV.dbUser]: c.database.dbUser,
      [CONFIG_ENV.dbPasswordSecret]: this.secret.resourceName,
      // the functions read Cloud Logging severities (functions/config/config.ts)
      [CONFIG_ENV.logLevel]: ({ debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' } as const)[c.functions.logLevel],
    };
    const embedEnv: Record<string, string> = {
      [CONFIG_ENV.embedBudgetSeconds]: String(c.functions.embedBudgetSeconds),
      ...(props.modelBundled ? { [CONFIG_ENV.modelDir]: BUNDLED_MODEL_DIR } : {}),
    };
    const common = {
      project,
      region,
      source: source.object,
      buildServiceAccount: source.buildServiceAccount,
      dockerRepository: images.resourceId,
      connector: network.connector,
      labels,
      dependsOn,
    };

    // Only manifests wake the loader: the bucket notifies a topic for snapshots/ objects (the GCS
    // service agent may publish there only); blobs and quarantine copies never cold-start it.
    const gcsAgent = new DataGoogleStorageProjectServiceAccount(this, 'gcs-agent', { project });
    const manifestTopic = this.bucket.notifyManifests({ topicName: n.manifestTopic, gcsAgentEmail: gcsAgent.emailAddress, labels, dependsOn });

    const loadSnapshot = new NodeFunction(this, 'load-snapshot', {
      ...common,
      name: n.functions.loadSnapshot,
      description: 'Loads a snapshot when its manifest lands in the bucket (other objects are ignored)',
      entryPoint: ENTRY_POINTS.loadSnapshot,
      serviceAccountId: n.sa.loadSnapshot,
      environment: { ...dbEnv, ...embedEnv, [CONFIG_ENV.bucket]: this.bucket.bucket.name },
      memory: c.functions.loaderMemory,
      cpu: '1',
      timeoutSeconds: 540,
      maxInstances: c.functions.maxInstances,
      trigger: {
        kind: 'event',
        eventType: 'google.cloud.pubsub.topic.v1.messagePublished',
        triggerRegion: region,
        pubsubTopic: manifestTopic.id,
        triggerServiceAccountId: n.sa.trigger('load'),
      },
    });
    this.bucket.grant('loader-read', loadSnapshot.serviceAccount.member, 'roles/storage.objectViewer');
    this.bucket.grant('loader-quarantine', loadSnapshot.serviceAccount.member, 'roles/storage.objectCreator', {
      title: 'loader-quarantine-create',
      prefixes: [BUCKET_PREFIXES.quarantine],
    });
    this.secret.grant('loader', loadSnapshot.serviceAccount.member, 'read');

    const reconcile = new NodeFunction(this, 'reconcile', {
      ...common,
      name: n.functions.reconcile,
      description: 'Scheduled: missed manifests, retries, embedding backfill, unreferenced blob cleanup',
      entryPoint: ENTRY_POINTS.reconcile,
      serviceAccountId: n.sa.reconcile,
      environment: {
        ...dbEnv,
        ...embedEnv,
        [CONFIG_ENV.bucket]: this.bucket.bucket.name,
        [CONFIG_ENV.retentionDays]: String(c.bucket.manifestRetentionDays),
      },
      memory: c.functions.loaderMemory,
      cpu: '1',
      timeoutSeconds: 1800,
      maxInstances: 1,
      ingress: c.functions.reconcileIngress,
      trigger: { kind: 'http' },
    });
    // Delete only: objectViewer reads; no predefined role deletes without also creating/overwriting.
    const deleter = onePermissionRole('object-deleter-role', 'object_deleter', 'storage.objects.delete', 'retention');
    this.bucket.grant('reconcile-read', reconcile.serviceAccount.member, 'roles/storage.objectViewer');
    // retention: old manifests, unreferenced blobs (after the safety window) and expired quarantine copies
    this.bucket.grant('reconcile-delete-blobs', reconcile.serviceAccount.member, deleter.id, {
      title: 'reconcile-retention-delete',
      prefixes: [BUCKET_PREFIXES.blobs, BUCKET_PREFIXES.snapshots, BUCKET_PREFIXES.quarantine],
    });
    // reconcile loads missed snapshots with the normal loader, which may quarantine them
    this.bucket.grant('reconcile-quarantine', reconcile.serviceAccount.member, 'roles/storage.objectCreator', {
      title: 'reconcile-quarantine-create',
      prefixes: [BUCKET_PREFIXES.quarantine],
    });
    this.secret.grant('reconcile', reconcile.serviceAccount.member, 'read');

    const rotateSecret = new NodeFunction(this, 'rotate-secret', {
      ...common,
      name: n.functions.rotateSecret,
      description: 'On SECRET_ROTATE: new password, ALTER ROLE, new secret version, old one disabled after a grace period',
      entryPoint: ENTRY_POINTS.rotateSecret,
      serviceAccountId: n.sa.rotateSecret,
      environment: {
        ...dbEnv,
        [CONFIG_ENV.dbReaderUser]: c.database.readerUser,
        [CONFIG_ENV.dbReaderPasswordSecret]: this.readerSecret.resourceName,
        [CONFIG_ENV.rotationGraceHours]: String(c.secret.rotationGraceHours),
        ...(this.adminSecret ? { [CONFIG_ENV.dbAdminUser]: c.database.adminUser, [CONFIG_ENV.dbAdminPasswordSecret]: this.adminSecret.resourceName } : {}),
      },
      memory: '256Mi',
      timeoutSeconds: 120,
      maxInstances: 1,
      trigger: {
        kind: 'event',
        eventType: 'google.cloud.pubsub.topic.v1.messagePublished',
        triggerRegion: region,
        pubsubTopic: this.secret.rotationTopic.id,
        triggerServiceAccountId: n.sa.trigger('rotate'),
      },
    });
    this.secret.grant('rotate-secret', rotateSecret.serviceAccount.member, 'rotate');
    this.readerSecret.grant('rotate-secret', rotateSecret.serviceAccount.member, 'rotate');
    this.adminSecret?.grant('rotate-secret', rotateSecret.serviceAccount.member, 'rotate');

    let bootstrapDatabase: NodeFunction | undefined;
    if (this.adminSecret) {
      // The managed database's one privileged step: roles, schema and grants as the admin role
      // (infra/DEPLOY.md "Managed database"). Its own identity reads the three passwords, nothing else.
      bootstrapDatabase = new NodeFunction(this, 'bootstrap-database', {
        ...common,
        name: n.functions.bootstrapDatabase,
        description: 'Managed database: the vector extension, the roles, schema aqe and the grants, as the admin role (idempotent)',
        entryPoint: MANAGED_DB_ENTRY_POINTS.bootstrapDatabase,
        serviceAccountId: n.sa.bootstrapDatabase,
        environment: {
          ...dbEnv,
          [CONFIG_ENV.dbReaderUser]: c.database.readerUser,
          [CONFIG_ENV.dbReaderPasswordSecret]: this.readerSecret.resourceName,
          [CONFIG_ENV.dbAdminUser]: c.database.adminUser,
          [CONFIG_ENV.dbAdminPasswordSecret]: this.adminSecret.resourceName,
        },
        memory: '256Mi',
        timeoutSeconds: 300,
        maxInstances: 1,
        trigger: { kind: 'http' },
      });
      for (const secret of [this.secret, this.readerSecret, this.adminSecret]) secret.grant('bootstrap', bootstrapDatabase.serviceAccount.member, 'read');
    }
    this.functions = { loadSnapshot, reconcile, rotateSecret, ...(bootstrapDatabase ? { bootstrapDatabase } : {}) };

    const scheduler = new ReconcileScheduler(this, 'scheduler', {
      project,
      region,
      namePrefix: c.namePrefix,
      serviceAccountId: n.sa.scheduler,
      target: reconcile,
      timeZone: c.schedules.timeZone,
      jobs: c.schedules.reconcile,
      dependsOn,
    });
    if (bootstrapDatabase) {
      // the same scheduler identity may invoke the bootstrap too; daily, and by hand (runbook)
      const invoker = bootstrapDatabase.grantInvoker('scheduler-invoker', scheduler.serviceAccount.member);
      new CloudSchedulerJob(this, 'bootstrap-job', {
        project,
        region,
        name: n.bootstrapJob,
        description: 'Calls the database bootstrap: re-applies the roles, schema and grants (idempotent)',
        schedule: c.database.cloudSql.bootstrapSchedule,
        timeZone: c.schedules.timeZone,
        attemptDeadline: '320s',
        retryConfig: { retryCount: 3, minBackoffDuration: '60s', maxBackoffDuration: '600s' },
        httpTarget: {
          httpMethod: 'POST',
          uri: bootstrapDatabase.uri,
          headers: { 'Content-Type': 'application/json' },
          body: Buffer.from(JSON.stringify({ trigger: 'scheduler' })).toString('base64'),
          oidcToken: { serviceAccountEmail: scheduler.serviceAccount.email, audience: bootstrapDatabase.uri },
        },
        dependsOn: [invoker, ...dependsOn],
      });
    }

    new Alerts(this, 'alerts', {
      project,
      namePrefix: c.namePrefix,
      emails: c.alerts.emails,
      functionNames: [n.functions.loadSnapshot, n.functions.reconcile, n.functions.rotateSecret, ...(bootstrapDatabase ? [n.functions.bootstrapDatabase] : [])],
      database: this.vm ? { kind: 'vm', instance: this.vm.instance } : { kind: 'cloudsql', databaseId: `${project}:${n.sqlInstance}` },
      dependsOn,
    });

    if (this.vm) {
      this.tunnelCommand = `gcloud compute start-iap-tunnel ${n.vm} ${POSTGRES_PORT} --local-host-port=localhost:${POSTGRES_PORT} --zone ${zone} --project ${project}`;
    } else {
      // SSH to the bastion over IAP, forwarding localhost:5432 to the instance's private IP
      this.tunnelCommand = `gcloud compute ssh ${n.bastion} --tunnel-through-iap --zone ${zone} --project ${project} -- -N -L ${POSTGRES_PORT}:${dbHost}:${POSTGRES_PORT}`;
    }
    new TerraformOutput(this, 'bucket', { value: this.bucket.bucket.name, description: 'Snapshot bucket (aqe-upload push --bucket gs://<this>)' });
    new TerraformOutput(this, 'bucket_url', { value: `gs://${n.bucket}` });
    new TerraformOutput(this, 'tunnel_command', { value: this.tunnelCommand, description: 'Opens localhost:5432 to the database through IAP' });
    if (this.vm) {
      new TerraformOutput(this, 'database_url', {
        value: `postgres://${c.database.readerUser}@localhost:${POSTGRES_PORT}/${c.database.dbName}`,
        description: 'Read-only, through the tunnel; the password is in Secret Manager (db_reader_password_secret)',
      });
      new TerraformOutput(this, 'vm_name', { value: this.vm.instance.name });
      new TerraformOutput(this, 'vm_internal_ip', { value: this.vm.internalIp });
    } else {
      new TerraformOutput(this, 'database_url', {
        value: `postgres://${c.database.readerUser}@localhost:${POSTGRES_PORT}/${c.database.dbName}?sslmode=verify-ca&sslrootcert=server-ca.pem`,
        description: 'Read-only, through the bastion tunnel, TLS verified against the instance CA (sql_server_ca_cert); the password is in Secret Manager (db_reader_password_secret)',
      });
      new TerraformOutput(this, 'sql_instance', { value: this.cloudSql!.instance.name });
      new TerraformOutput(this, 'sql_connection_name', { value: this.cloudSql!.connectionName });
      new TerraformOutput(this, 'sql_private_ip', { value: dbHost });
      new TerraformOutput(this, 'sql_server_ca_cert', { value: this.cloudSql!.serverCaCert, description: 'PEM: save as server-ca.pem for sslmode=verify-ca' });
      new TerraformOutput(this, 'bastion_name', { value: this.bastion!.instance.name });
      new TerraformOutput(this, 'db_admin_password_secret', { value: this.adminSecret!.resourceName, description: 'The admin role password (bootstrap only)' });
    }
    new TerraformOutput(this, 'db_password_secret', { value: this.secret.resourceName, description: "The functions' role password" });
    new TerraformOutput(this, 'db_reader_password_secret', { value: this.readerSecret.resourceName, description: "The operators' read-only role password" });
    new TerraformOutput(this, 'function_names', {
      value: {
        loadSnapshot: loadSnapshot.function.name,
        reconcile: reconcile.function.name,
        rotateSecret: rotateSecret.function.name,
        ...(bootstrapDatabase ? { bootstrapDatabase: bootstrapDatabase.function.name } : {}),
      },
    });
  }
}
