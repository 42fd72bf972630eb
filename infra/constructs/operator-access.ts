// Who may reach the database VM and run the runbook (infra/DEPLOY.md, infra/runbook.ts): operators
// get the IAP tunnel, OS Login without sudo and read-only views; admins get OS Login with sudo, a
// reset of this VM, the reconcile job by hand and the rotation schedule. Every grant sits on the
// narrowest resource that holds it (the instance, the VM's service account, a secret); only
// read-only roles and two one-purpose custom roles are bound at project level.
import type { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance/index.js';
import { ComputeInstanceIamMember } from '@cdktf/provider-google/lib/compute-instance-iam-member/index.js';
import { IapTunnelInstanceIamMember } from '@cdktf/provider-google/lib/iap-tunnel-instance-iam-member/index.js';
import { ProjectIamCustomRole } from '@cdktf/provider-google/lib/project-iam-custom-role/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import type { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { DatabaseSecret } from './database-secret.js';

export interface OperatorAccessProps {
  readonly project: string;
  readonly zone: string;
  readonly namePrefix: string;
  readonly instance: ComputeInstance;
  readonly vmServiceAccount: ServiceAccount;
  /** The secrets whose rotation schedule admins may change. */
  readonly rotatedSecrets: readonly DatabaseSecret[];
  /** group:… or serviceAccount:… members (validated by the config: no user:). */
  readonly operators: readonly string[];
  readonly admins: readonly string[];
  readonly dependsOn?: ITerraformDependable[];
}

/** A stable, readable construct id for an IAM member (ids are API: they must not depend on order). */
export function memberId(member: string): string {
  return member
    .toLowerCase()
    .replace(/^[a-z]+:(\/\/)?/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Permissions of the custom roles this construct defines (the runbook test reads them from the synthesized stack). */
export const OPERATOR_CUSTOM_ROLES = {
  /** Project level: what gcloud looks up before an SSH or a tunnel, and the disk snapshots list. */
  projectLookup: ['compute.projects.get', 'compute.snapshots.list', 'compute.snapshots.get'],
  /** On the database VM: look it up (tunnel, ssh). */
  vmViewer: ['compute.instances.get'],
  /** On the database VM, admins: reset, stop and start it. */
  vmPower: ['compute.instances.get', 'compute.instances.reset', 'compute.instances.stop', 'compute.instances.start'],
  /** On the rotated secrets, admins: move the next rotation (`gcloud secrets update --next-rotation-time`). */
  rotationSchedule: ['secretmanager.secrets.get', 'secretmanager.secrets.update'],
} as const;

export class OperatorAccess extends Construct {
  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { project, zone, instance } = props;
    const everyone = [...new Set([...props.operators, ...props.admins])];
    if (everyone.length === 0) return;
    const rolePrefix = props.namePrefix.replace(/-/g, '_');
    const customRole = (cid: string, name: string, title: string, permissions: readonly string[]) =>
      new ProjectIamCustomRole(this, cid, {
        project,
        roleId: `${rolePrefix}_${name}`,
        title,
        description: `aqe runbook (infra/DEPLOY.md): ${permissions.join(', ')}`,
        permissions: [...permissions],
        dependsOn: props.dependsOn,
      });
    const lookup = customRole('project-lookup-role', 'project_lookup', 'aqe project lookup', OPERATOR_CUSTOM_ROLES.projectLookup);
    const vmViewer = customRole('vm-viewer-role', 'db_vm_viewer', 'aqe database VM viewer', OPERATOR_CUSTOM_ROLES.vmViewer);
    const onVm = (cid: string, role: string, member: string) =>
      new ComputeInstanceIamMember(this, cid, { project, zone, instanceName: instance.name, role, member });

    for (const member of everyone) {
      const mid = memberId(member);
      const admin = props.admins.includes(member);
      // `gcloud compute start-iap-tunnel <vm> 5432` and `gcloud compute ssh --tunnel-through-iap`
      new IapTunnelInstanceIamMember(this, `tunnel-${mid}`, { project, zone, instance: instance.name, role: 'roles/iap.tunnelResourceAccessor', member });
      onVm(`vm-viewer-${mid}`, vmViewer.id, member);
      // OS Login on this instance only: with sudo for admins, without for operators
      onVm(`oslogin-${mid}`, admin ? 'roles/compute.osAdminLogin' : 'roles/compute.osLogin', member);
      new ServiceAccountIamMember(this, `vm-sa-user-${mid}`, { serviceAccountId: props.vmServiceAccount.name, role: 'roles/iam.serviceAccountUser', member });
      new ProjectIamMember(this, `project-lookup-${mid}`, { project, role: lookup.id, member });
      // read-only: the functions' logs (`gcloud functions logs read`) and their configuration
      for (const role of ['roles/logging.viewer', 'roles/cloudfunctions.viewer']) {
        new ProjectIamMember(this, `${role.split('/')[1]!.replace('.', '-')}-${mid}`, { project, role, member });
      }
    }

    if (props.admins.length === 0) return;
    const vmPower = customRole('vm-power-role', 'db_vm_power', 'aqe database VM power', OPERATOR_CUSTOM_ROLES.vmPower);
    const schedule = customRole('rotation-schedule-role', 'rotation_schedule', 'aqe rotation schedule', OPERATOR_CUSTOM_ROLES.rotationSchedule);
    for (const member of props.admins) {
      const mid = memberId(member);
      onVm(`vm-power-${mid}`, vmPower.id, member);
      // `gcloud scheduler jobs run aqe-reconcile-hourly` and a look at the alert policies
      for (const role of ['roles/cloudscheduler.jobRunner', 'roles/monitoring.viewer']) {
        new ProjectIamMember(this, `${role.split('/')[1]!.replace('.', '-')}-${mid}`, { project, role, member });
      }
      props.rotatedSecrets.forEach((secret, i) => secret.grantRole(`admin-${i}-${mid}`, member, schedule.id));
    }
  }
}
