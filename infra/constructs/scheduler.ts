// Cloud Scheduler jobs that call the reconcile function with an OIDC token of a dedicated
// service account, which may invoke that one function and nothing else.
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { NodeFunction } from './node-function.js';

export interface ScheduleSpec {
  readonly id: string;
  readonly schedule: string;
  readonly body: Record<string, unknown>;
}

export interface ReconcileSchedulerProps {
  readonly project: string;
  readonly region: string;
  readonly namePrefix: string;
  readonly serviceAccountId: string;
  readonly target: NodeFunction;
  readonly timeZone: string;
  readonly jobs: readonly ScheduleSpec[];
  readonly dependsOn?: ITerraformDependable[];
}

export class ReconcileScheduler extends Construct {
  readonly serviceAccount: ServiceAccount;
  readonly jobs: CloudSchedulerJob[];

  constructor(scope: Construct, id: string, props: ReconcileSchedulerProps) {
    super(scope, id);
    const { project, region, target } = props;
    this.serviceAccount = new ServiceAccount(this, 'sa', {
      project,
      accountId: props.serviceAccountId,
      displayName: 'aqe reconcile scheduler',
      description: 'Cloud Scheduler OIDC identity: may invoke the reconcile function only',
      dependsOn: props.dependsOn,
    });
    const invoker = target.grantInvoker('scheduler-invoker', this.serviceAccount.member);

    this.jobs = props.jobs.map(
      (job) =>
        new CloudSchedulerJob(this, `job-${job.id}`, {
          project,
          region,
          name: `${props.namePrefix}-reconcile-${job.id}`,
          description: `Calls reconcile (${job.id}): missed manifests, retries, embedding backfill, blob cleanup`,
          schedule: job.schedule,
          timeZone: props.timeZone,
          attemptDeadline: '1800s',
          retryConfig: { retryCount: 1, minBackoffDuration: '60s', maxBackoffDuration: '600s' },
          httpTarget: {
            httpMethod: 'POST',
            uri: target.uri,
            headers: { 'Content-Type': 'application/json' },
            body: Buffer.from(JSON.stringify({ trigger: 'scheduler', schedule: job.id, ...job.body })).toString('base64'),
            oidcToken: { serviceAccountEmail: this.serviceAccount.email, audience: target.uri },
          },
          dependsOn: [invoker, ...(props.dependsOn ?? [])],
        }),
    );
  }
}
