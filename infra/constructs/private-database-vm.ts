// The database VM: private (no external IP; a reserved internal address), Shielded, OS Login, its
// own service account, COS running ruvector-postgres from cloud-init, a separate data disk with a
// daily snapshot schedule.
import { ComputeAddress } from '@cdktf/provider-google/lib/compute-address/index.js';
import { ComputeDisk } from '@cdktf/provider-google/lib/compute-disk/index.js';
import { ComputeDiskResourcePolicyAttachment } from '@cdktf/provider-google/lib/compute-disk-resource-policy-attachment/index.js';
import { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance/index.js';
import { ComputeResourcePolicy } from '@cdktf/provider-google/lib/compute-resource-policy/index.js';
import type { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { renderDatabaseCloudConfig } from './database-cloud-config.js';

export interface PrivateDatabaseVmProps {
  readonly project: string;
  readonly region: string;
  readonly zone: string;
  readonly names: { readonly vm: string; readonly dataDisk: string; readonly snapshotPolicy: string; readonly serviceAccount: string; readonly address: string };
  /** Network tag the firewall rules target. */
  readonly networkTag: string;
  readonly subnet: ComputeSubnetwork;
  readonly machineType: string;
  readonly bootImage: string;
  /** The image the VM pulls (the Artifact Registry mirror reference). */
  readonly image: string;
  /** Registry host docker authenticates to with the VM's service account (null: Docker Hub). */
  readonly registryHost: string | null;
  readonly dataDiskSizeGb: number;
  readonly dataDiskType: string;
  readonly dbName: string;
  readonly adminUser: string;
  readonly syncUser: string;
  readonly readerUser: string;
  readonly port: string;
  /** Secret ids read at boot (the VM service account must be granted access on both). */
  readonly syncSecretId: string;
  readonly readerSecretId: string;
  readonly snapshotStartTime: string;
  readonly snapshotRetentionDays: number;
  readonly deletionProtection: boolean;
  readonly labels: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
}

/** Device name of the data disk on the VM. */
export const DATA_DEVICE_NAME = 'ruvector-data';

export class PrivateDatabaseVm extends Construct {
  readonly instance: ComputeInstance;
  readonly serviceAccount: ServiceAccount;
  readonly dataDisk: ComputeDisk;
  readonly snapshotPolicy: ComputeResourcePolicy;
  /** The reserved internal address: stable across VM re-creation (the functions' DB host). */
  readonly address: ComputeAddress;
  /** The VM's internal IP (the functions' DB host). */
  readonly internalIp: string;
  /** The cloud-config text put in `user-data` (exposed for tests and review). */
  readonly cloudConfig: string;

  constructor(scope: Construct, id: string, props: PrivateDatabaseVmProps) {
    super(scope, id);
    const { project, zone, region, dependsOn } = props;

    this.serviceAccount = new ServiceAccount(this, 'sa', {
      project,
      accountId: props.names.serviceAccount,
      displayName: 'aqe database VM',
      description: 'Runs ruvector-postgres: writes logs and metrics, reads the DB password secret',
      dependsOn,
    });
    // What the COS logging and monitoring agents need; nothing else at project level.
    for (const role of ['roles/logging.logWriter', 'roles/monitoring.metricWriter']) {
      new ProjectIamMember(this, `sa-${role.split('/')[1]}`, { project, role, member: this.serviceAccount.member });
    }

    this.dataDisk = new ComputeDisk(this, 'data-disk', {
      project,
      zone,
      name: props.names.dataDisk,
      size: props.dataDiskSizeGb,
      type: props.dataDiskType,
      labels: props.labels,
      lifecycle: { preventDestroy: props.deletionProtection },
      dependsOn,
    });

    this.snapshotPolicy = new ComputeResourcePolicy(this, 'snapshot-policy', {
      project,
      region,
      name: props.names.snapshotPolicy,
      description: 'Daily crash-consistent snapshots of the Postgres data disk',
      snapshotSchedulePolicy: {
        schedule: { dailySchedule: { daysInCycle: 1, startTime: props.snapshotStartTime } },
        retentionPolicy: { maxRetentionDays: props.snapshotRetentionDays, onSourceDiskDelete: 'KEEP_AUTO_SNAPSHOTS' },
        snapshotProperties: { storageLocations: [region], labels: props.labels, guestFlush: false },
      },
      dependsOn,
    });

    // `name` is the policy's name, not the attachment's.
    new ComputeDiskResourcePolicyAttachment(this, 'snapshot-policy-attachment', {
      project,
      zone,
      name: this.snapshotPolicy.name,
      disk: this.dataDisk.name,
    });

    this.cloudConfig = renderDatabaseCloudConfig({
      project,
      syncSecretId: props.syncSecretId,
      readerSecretId: props.readerSecretId,
      image: props.image,
      registryHost: props.registryHost,
      dbName: props.dbName,
      adminUser: props.adminUser,
      syncUser: props.syncUser,
      readerUser: props.readerUser,
      dataDeviceName: DATA_DEVICE_NAME,
      port: props.port,
    });

    this.address = new ComputeAddress(this, 'address', {
      project,
      region,
      name: props.names.address,
      description: 'Internal address of the database VM (the functions connect here)',
      addressType: 'INTERNAL',
      purpose: 'GCE_ENDPOINT',
      subnetwork: props.subnet.id,
      labels: props.labels,
      dependsOn,
    });

    this.instance = new ComputeInstance(this, 'vm', {
      project,
      zone,
      name: props.names.vm,
      machineType: props.machineType,
      tags: [props.networkTag],
      labels: props.labels,
      bootDisk: { initializeParams: { image: props.bootImage, size: 10, type: 'pd-balanced', labels: props.labels } },
      attachedDisk: [{ source: this.dataDisk.id, deviceName: DATA_DEVICE_NAME, mode: 'READ_WRITE' }],
      // No access_config: no external IP, and no NAT: the image comes through Artifact Registry
      // over Private Google Access, so the VM cannot reach the internet at all.
      networkInterface: [{ subnetwork: props.subnet.id, networkIp: this.address.address }],
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      serviceAccount: { email: this.serviceAccount.email, scopes: ['cloud-platform'] },
      metadata: {
        'enable-oslogin': 'TRUE',
        'block-project-ssh-keys': 'TRUE',
        'serial-port-enable': 'FALSE',
        'google-logging-enabled': 'true',
        'google-monitoring-enabled': 'true',
        'user-data': this.cloudConfig,
      },
      canIpForward: false,
      deletionProtection: props.deletionProtection,
      allowStoppingForUpdate: true,
      scheduling: { automaticRestart: true, onHostMaintenance: 'MIGRATE', preemptible: false },
      // The family image resolves to a new build over time; never replace the DB VM for that.
      lifecycle: { ignoreChanges: ['boot_disk[0].initialize_params[0].image'] },
      dependsOn,
    });
    this.internalIp = this.address.address;
  }
}
