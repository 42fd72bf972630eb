// The managed database (engine cloudsql-pgvector): Cloud SQL for PostgreSQL on a private IP only,
// reached through private services access (a reserved global range peered with Google's service
// network), TLS required, automated backups with point-in-time recovery, deletion protection, a
// maintenance window, optional regional HA. The database and its API-created admin role (a member
// of cloudsqlsuperuser, no password from Terraform: it is set out of band from its secret, see
// infra/DEPLOY.md "Managed database"); the functions' roles are made by the bootstrap function.
import { ComputeGlobalAddress } from '@cdktf/provider-google/lib/compute-global-address/index.js';
import type { ComputeNetwork } from '@cdktf/provider-google/lib/compute-network/index.js';
import { ServiceNetworkingConnection } from '@cdktf/provider-google/lib/service-networking-connection/index.js';
import { SqlDatabase } from '@cdktf/provider-google/lib/sql-database/index.js';
import { SqlDatabaseInstance } from '@cdktf/provider-google/lib/sql-database-instance/index.js';
import { SqlUser } from '@cdktf/provider-google/lib/sql-user/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface CloudSqlDatabaseProps {
  readonly project: string;
  readonly region: string;
  readonly names: { readonly instance: string; readonly privateServicesRange: string };
  readonly network: ComputeNetwork;
  /** The private services access range, e.g. 10.20.0.0/20. */
  readonly privateServicesCidr: string;
  readonly version: string;
  readonly tier: string;
  readonly highAvailability: boolean;
  readonly diskSizeGb: number;
  readonly diskType: string;
  readonly diskAutoresizeLimitGb: number;
  readonly backupStartTime: string;
  readonly retainedBackups: number;
  readonly pitrDays: number;
  readonly maintenanceDay: number;
  readonly maintenanceHour: number;
  readonly deletionProtection: boolean;
  readonly dbName: string;
  /** The API-created admin role (cloudsqlsuperuser member): the bootstrap's only user. */
  readonly adminUser: string;
  readonly labels: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
}

/** Memory (MB) of a Cloud SQL tier, for the flags that scale with it. */
export function tierMemoryMb(tier: string): number {
  const custom = /^db-custom-\d+-(\d+)$/.exec(tier);
  if (custom) return Number(custom[1]);
  return tier === 'db-g1-small' ? 1700 : 614;
}

/**
 * Database flags for this workload: bulk COPY loads and HNSW index builds (maintenance_work_mem
 * sized to an eighth of memory, at most 1 GB), connection, lock-wait, checkpoint and temp-file
 * logging (CIS / checkov CKV_GCP_51..58), and no statement text logged by duration (a rotation's
 * ALTER ROLE carries a password verifier).
 */
export function cloudSqlFlags(tier: string): Array<{ name: string; value: string }> {
  const maintenanceKb = Math.min(1024 * 1024, Math.floor((tierMemoryMb(tier) * 1024) / 8));
  return [
    { name: 'maintenance_work_mem', value: String(maintenanceKb) },
    { name: 'log_checkpoints', value: 'on' },
    { name: 'log_connections', value: 'on' },
    { name: 'log_disconnections', value: 'on' },
    { name: 'log_lock_waits', value: 'on' },
    { name: 'log_temp_files', value: '0' },
    { name: 'log_min_duration_statement', value: '-1' },
    { name: 'log_min_error_statement', value: 'error' },
  ];
}

export class CloudSqlDatabase extends Construct {
  readonly instance: SqlDatabaseInstance;
  readonly database: SqlDatabase;
  readonly adminUser: SqlUser;
  readonly privateServicesRange: ComputeGlobalAddress;
  readonly connection: ServiceNetworkingConnection;
  /** The instance's private IP (the functions' AQE_DB_HOST). */
  readonly privateIp: string;
  /** PEM of the instance's server CA (the functions verify the server against it: AQE_DB_SSL_CA). */
  readonly serverCaCert: string;
  /** `project:region:instance` (Cloud SQL Auth Proxy, gcloud sql connect, the monitoring database_id is `project:instance`). */
  readonly connectionName: string;

  constructor(scope: Construct, id: string, props: CloudSqlDatabaseProps) {
    super(scope, id);
    const { project, region, dependsOn } = props;
    const [rangeAddress, prefixLength] = props.privateServicesCidr.split('/') as [string, string];

    // Private services access: Cloud SQL's private IP comes from this range of our VPC's space.
    this.privateServicesRange = new ComputeGlobalAddress(this, 'private-services-range', {
      project,
      name: props.names.privateServicesRange,
      description: 'Private services access range: the Cloud SQL instance takes its private IP from here',
      purpose: 'VPC_PEERING',
      addressType: 'INTERNAL',
      address: rangeAddress,
      prefixLength: Number(prefixLength),
      network: props.network.id,
      dependsOn,
    });
    this.connection = new ServiceNetworkingConnection(this, 'private-services-connection', {
      network: props.network.id,
      service: 'servicenetworking.googleapis.com',
      reservedPeeringRanges: [this.privateServicesRange.name],
      // a destroy must not fail on the peering Google still uses while the instance is deleted
      deletionPolicy: 'ABANDON',
      dependsOn,
    });

    this.instance = new SqlDatabaseInstance(this, 'instance', {
      project,
      region,
      name: props.names.instance,
      databaseVersion: props.version,
      // Terraform refuses to destroy it; deletionProtectionEnabled below makes the API refuse too
      deletionProtection: props.deletionProtection,
      settings: {
        tier: props.tier,
        edition: 'ENTERPRISE',
        availabilityType: props.highAvailability ? 'REGIONAL' : 'ZONAL',
        diskType: props.diskType,
        diskSize: props.diskSizeGb,
        diskAutoresize: true,
        diskAutoresizeLimit: props.diskAutoresizeLimitGb,
        deletionProtectionEnabled: props.deletionProtection,
        // the automated backups outlive a deleted instance (restore after a mistaken destroy)
        retainBackupsOnDelete: true,
        userLabels: props.labels,
        ipConfiguration: {
          // private IP only: no public address, no authorized networks
          ipv4Enabled: false,
          privateNetwork: props.network.id,
          allocatedIpRange: this.privateServicesRange.name,
          enablePrivatePathForGoogleCloudServices: false,
          // TLS on every connection (no client certificate: the roles authenticate by password)
          sslMode: 'ENCRYPTED_ONLY',
          serverCaMode: 'GOOGLE_MANAGED_INTERNAL_CA',
        },
        backupConfiguration: {
          enabled: true,
          startTime: props.backupStartTime,
          location: region,
          pointInTimeRecoveryEnabled: true,
          transactionLogRetentionDays: props.pitrDays,
          backupRetentionSettings: { retainedBackups: props.retainedBackups, retentionUnit: 'COUNT' },
        },
        maintenanceWindow: { day: props.maintenanceDay, hour: props.maintenanceHour, updateTrack: 'stable' },
        databaseFlags: cloudSqlFlags(props.tier),
        insightsConfig: { queryInsightsEnabled: true, queryStringLength: 1024, recordApplicationTags: false, recordClientAddress: false },
      },
      dependsOn: [this.connection, ...(dependsOn ?? [])],
    });

    this.database = new SqlDatabase(this, 'database', {
      project,
      instance: this.instance.name,
      name: props.dbName,
      // the data goes with the instance (and its backups), never with a Terraform plan
      deletionPolicy: 'ABANDON',
    });

    // No password here (it would sit in state): the deployer sets it from the admin secret
    // (DEPLOY.md), the rotation function rotates it like the other roles' passwords.
    this.adminUser = new SqlUser(this, 'admin-user', {
      project,
      instance: this.instance.name,
      name: props.adminUser,
      type: 'BUILT_IN',
      deletionPolicy: 'ABANDON',
    });

    this.privateIp = this.instance.privateIpAddress;
    this.serverCaCert = this.instance.serverCaCert.get(0).cert;
    this.connectionName = this.instance.connectionName;
  }
}
