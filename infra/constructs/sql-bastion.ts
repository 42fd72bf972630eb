// The operators' way to the managed database (engine cloudsql-pgvector): a small bastion VM with no
// external IP and nothing installed, reached only by IAP TCP forwarding to its SSH port with OS
// Login. `gcloud compute ssh <bastion> --tunnel-through-iap -- -N -L 5432:<private IP>:5432`
// forwards a local port to the instance's private IP; the Postgres session (TLS, password of the
// read-only role) runs end to end from the operator's machine to Cloud SQL. No proxy, no key.
import { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance/index.js';
import type { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface SqlBastionProps {
  readonly project: string;
  readonly zone: string;
  readonly names: { readonly vm: string; readonly serviceAccount: string };
  readonly networkTag: string;
  readonly subnet: ComputeSubnetwork;
  readonly machineType: string;
  readonly bootImage: string;
  readonly labels: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
}

export class SqlBastion extends Construct {
  readonly instance: ComputeInstance;
  readonly serviceAccount: ServiceAccount;

  constructor(scope: Construct, id: string, props: SqlBastionProps) {
    super(scope, id);
    const { project, zone, dependsOn } = props;
    this.serviceAccount = new ServiceAccount(this, 'sa', {
      project,
      accountId: props.names.serviceAccount,
      displayName: 'aqe SQL bastion',
      description: 'The operators\' SSH bastion to the Cloud SQL private IP: writes its logs, nothing else',
      dependsOn,
    });
    new ProjectIamMember(this, 'sa-logWriter', { project, role: 'roles/logging.logWriter', member: this.serviceAccount.member });

    this.instance = new ComputeInstance(this, 'vm', {
      project,
      zone,
      name: props.names.vm,
      machineType: props.machineType,
      tags: [props.networkTag],
      labels: props.labels,
      bootDisk: { initializeParams: { image: props.bootImage, size: 10, type: 'pd-balanced', labels: props.labels } },
      // no access_config: no external IP; IAP is the only way in
      networkInterface: [{ subnetwork: props.subnet.id }],
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      serviceAccount: { email: this.serviceAccount.email, scopes: ['cloud-platform'] },
      metadata: {
        'enable-oslogin': 'TRUE',
        'block-project-ssh-keys': 'TRUE',
        'serial-port-enable': 'FALSE',
        'google-logging-enabled': 'true',
      },
      canIpForward: false,
      deletionProtection: false,
      allowStoppingForUpdate: true,
      scheduling: { automaticRestart: true, onHostMaintenance: 'MIGRATE', preemptible: false },
      lifecycle: { ignoreChanges: ['boot_disk[0].initialize_params[0].image'] },
      dependsOn,
    });
  }
}
