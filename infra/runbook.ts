// The runbook's steps (infra/DEPLOY.md) as data: who runs each, and the permissions it needs on
// which resource. test/infra/runbook.test.ts evaluates the synthesized IAM bindings against it, so a
// step the granted roles cannot run fails a test instead of an operator at 3 a.m.

/** Where a permission is checked. */
export type Scope = 'project' | 'instance' | 'vm-service-account' | 'reader-secret' | 'sync-secret' | 'admin-secret';

export interface RunbookStep {
  readonly id: string;
  /** Section of infra/DEPLOY.md the command appears in. */
  readonly section: string;
  readonly who: 'operators' | 'admins';
  readonly command: string;
  readonly needs: ReadonlyArray<{ readonly permission: string; readonly on: Scope }>;
}

export const RUNBOOK: readonly RunbookStep[] = [
  {
    id: 'tunnel',
    section: '§7 Search through the IAP tunnel',
    who: 'operators',
    command: 'gcloud compute start-iap-tunnel aqe-db 5432 --local-host-port=localhost:5432 --zone ZONE',
    needs: [
      { permission: 'iap.tunnelInstances.accessViaIAP', on: 'instance' },
      { permission: 'compute.instances.get', on: 'instance' },
    ],
  },
  {
    id: 'reader-password',
    section: '§7 Search through the IAP tunnel',
    who: 'operators',
    command: 'gcloud secrets versions access latest --secret=aqe-db-reader-password',
    needs: [{ permission: 'secretmanager.versions.access', on: 'reader-secret' }],
  },
  {
    id: 'upgrade-migrate',
    section: 'Upgrading',
    who: 'admins',
    command: 'gcloud scheduler jobs run aqe-reconcile-hourly --location REGION',
    needs: [{ permission: 'cloudscheduler.jobs.run', on: 'project' }],
  },
  {
    id: 'function-logs',
    section: '§6 First push from a laptop',
    who: 'operators',
    command: 'gcloud functions logs read aqe-load-snapshot --region REGION',
    needs: [
      { permission: 'cloudfunctions.functions.get', on: 'project' },
      { permission: 'logging.logEntries.list', on: 'project' },
    ],
  },
  {
    id: 'ssh-journal',
    section: '§5 Create the first password versions',
    who: 'admins',
    command: 'gcloud compute ssh aqe-db --tunnel-through-iap --zone ZONE -- sudo journalctl -u aqe-…',
    needs: [
      { permission: 'compute.projects.get', on: 'project' },
      { permission: 'compute.instances.get', on: 'instance' },
      { permission: 'compute.instances.osAdminLogin', on: 'instance' },
      { permission: 'iap.tunnelInstances.accessViaIAP', on: 'instance' },
      { permission: 'iam.serviceAccounts.actAs', on: 'vm-service-account' },
    ],
  },
  {
    id: 'scheduler-run',
    section: 'Checklist 2',
    who: 'admins',
    command: 'gcloud scheduler jobs run aqe-reconcile-hourly --location REGION',
    needs: [{ permission: 'cloudscheduler.jobs.run', on: 'project' }],
  },
  {
    id: 'rotate-now',
    section: 'Checklist 3',
    who: 'admins',
    command: 'gcloud secrets update aqe-db-password --next-rotation-time=…',
    needs: [
      { permission: 'secretmanager.secrets.update', on: 'sync-secret' },
      { permission: 'secretmanager.secrets.update', on: 'reader-secret' },
    ],
  },
  {
    id: 'alert-policies',
    section: 'Checklist 6',
    who: 'admins',
    command: 'gcloud alpha monitoring policies list',
    needs: [{ permission: 'monitoring.alertPolicies.list', on: 'project' }],
  },
  {
    id: 'reset-vm',
    section: 'Checklist 9',
    who: 'admins',
    command: 'gcloud compute instances reset aqe-db --zone ZONE',
    needs: [{ permission: 'compute.instances.reset', on: 'instance' }],
  },
  {
    id: 'list-snapshots',
    section: 'Checklist 10',
    who: 'admins',
    command: 'gcloud compute snapshots list --filter="sourceDisk~aqe-db-data"',
    needs: [{ permission: 'compute.snapshots.list', on: 'project' }],
  },
];

/**
 * The managed engine's runbook (DEPLOY.md "Managed database"): `instance` and `vm-service-account`
 * are the SQL bastion and its service account. The first-deploy and restore steps that need
 * `roles/cloudsql.admin` (set-password, backups restore, clone) are the deployer's, granted by
 * nobody in the stack.
 */
export const MANAGED_RUNBOOK: readonly RunbookStep[] = [
  {
    id: 'bastion-tunnel',
    section: 'Managed database: Operator access',
    who: 'operators',
    command: 'gcloud compute ssh aqe-sql-bastion --tunnel-through-iap --zone ZONE -- -N -L 5432:PRIVATE_IP:5432',
    needs: [
      { permission: 'compute.projects.get', on: 'project' },
      { permission: 'compute.instances.get', on: 'instance' },
      { permission: 'compute.instances.osLogin', on: 'instance' },
      { permission: 'iap.tunnelInstances.accessViaIAP', on: 'instance' },
      { permission: 'iam.serviceAccounts.actAs', on: 'vm-service-account' },
    ],
  },
  RUNBOOK.find((s) => s.id === 'reader-password')!,
  RUNBOOK.find((s) => s.id === 'function-logs')!,
  {
    id: 'bootstrap-run',
    section: 'Managed database: First deploy',
    who: 'admins',
    command: 'gcloud scheduler jobs run aqe-db-bootstrap-daily --location REGION',
    needs: [
      { permission: 'cloudscheduler.jobs.run', on: 'project' },
      { permission: 'logging.logEntries.list', on: 'project' },
    ],
  },
  {
    id: 'rotate-now',
    section: 'Checklist 3',
    who: 'admins',
    command: 'gcloud secrets update aqe-db-admin-password --next-rotation-time=…',
    needs: [
      { permission: 'secretmanager.secrets.update', on: 'sync-secret' },
      { permission: 'secretmanager.secrets.update', on: 'reader-secret' },
      { permission: 'secretmanager.secrets.update', on: 'admin-secret' },
    ],
  },
  RUNBOOK.find((s) => s.id === 'alert-policies')!,
];

/**
 * The permissions of the predefined roles the stack grants to people, as far as the runbook needs
 * them (a subset of each role; source: cloud.google.com/iam/docs/understanding-roles, read
 * 2026-11). Custom roles are read from the synthesized stack itself.
 */
export const PREDEFINED_ROLE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  'roles/iap.tunnelResourceAccessor': ['iap.tunnelInstances.accessViaIAP', 'iap.tunnelDestGroups.accessViaIAP'],
  'roles/compute.osLogin': ['compute.instances.osLogin'],
  'roles/compute.osAdminLogin': ['compute.instances.osAdminLogin', 'compute.instances.osLogin'],
  'roles/iam.serviceAccountUser': ['iam.serviceAccounts.actAs', 'iam.serviceAccounts.get', 'iam.serviceAccounts.list'],
  'roles/logging.viewer': ['logging.logEntries.list', 'logging.logs.list'],
  'roles/cloudfunctions.viewer': ['cloudfunctions.functions.get', 'cloudfunctions.functions.list'],
  'roles/secretmanager.secretAccessor': ['secretmanager.versions.access'],
  'roles/cloudscheduler.jobRunner': ['cloudscheduler.jobs.run'],
  'roles/monitoring.viewer': ['monitoring.alertPolicies.list', 'monitoring.alertPolicies.get', 'monitoring.timeSeries.list'],
};
