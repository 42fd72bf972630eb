// Who may reach the database VM: per-instance IAP tunnel access, OS Login for SSH, and
// serviceAccountUser on the VM's own service account only (never at project level).
import type { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance/index.js';
import { IapTunnelInstanceIamMember } from '@cdktf/provider-google/lib/iap-tunnel-instance-iam-member/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import type { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member/index.js';
import { Construct } from 'constructs';

export interface OperatorAccessProps {
  readonly project: string;
  readonly zone: string;
  readonly instance: ComputeInstance;
  readonly vmServiceAccount: ServiceAccount;
  /** group:… or serviceAccount:… members (validated by the config: no user:). */
  readonly operators: readonly string[];
}

/** A stable, readable construct id for an IAM member (ids are API: they must not depend on order). */
export function memberId(member: string): string {
  return member
    .toLowerCase()
    .replace(/^[a-z]+:(\/\/)?/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

export class OperatorAccess extends Construct {
  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { project, zone, instance } = props;
    for (const member of props.operators) {
      const mid = memberId(member);
      // Enough for `gcloud compute start-iap-tunnel <vm> 5432`.
      new IapTunnelInstanceIamMember(this, `tunnel-${mid}`, {
        project,
        zone,
        instance: instance.name,
        role: 'roles/iap.tunnelResourceAccessor',
        member,
      });
      // SSH over IAP with OS Login (non-admin: no sudo).
      new ProjectIamMember(this, `oslogin-${mid}`, { project, role: 'roles/compute.osLogin', member });
      new ServiceAccountIamMember(this, `vm-sa-user-${mid}`, {
        serviceAccountId: props.vmServiceAccount.name,
        role: 'roles/iam.serviceAccountUser',
        member,
      });
    }
  }
}
