// Alerting: function errors (log match), failed loads above a rate, no successful sync per
// environment within a day, and the database VM down. Email channels come from the config.
import type { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance/index.js';
import { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric/index.js';
import { MonitoringAlertPolicy } from '@cdktf/provider-google/lib/monitoring-alert-policy/index.js';
import { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

/**
 * Structured log events the functions emit (one JSON line each, with an `env` field):
 * `{"severity":"INFO","event":"sync_succeeded","env":"laptop",...}`. The alerts depend on them.
 */
export const SYNC_LOG_EVENTS = { succeeded: 'sync_succeeded', failed: 'sync_failed' } as const;

export interface AlertsProps {
  readonly project: string;
  readonly namePrefix: string;
  readonly emails: readonly string[];
  /** Cloud Run service names of the functions (gen-2 functions log as cloud_run_revision). */
  readonly functionNames: readonly string[];
  readonly environments: readonly string[];
  readonly instance: ComputeInstance;
  readonly maxFailedLoadsPerHour: number;
  readonly noSyncWindow: string;
  readonly dependsOn?: ITerraformDependable[];
}

export class Alerts extends Construct {
  readonly channels: MonitoringNotificationChannel[];
  readonly policies: MonitoringAlertPolicy[] = [];

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const { project, namePrefix: p, dependsOn } = props;
    this.channels = props.emails.map(
      (email) =>
        new MonitoringNotificationChannel(this, `email-${email.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, {
          project,
          displayName: `aqe alerts: ${email}`,
          type: 'email',
          labels: { email_address: email },
          dependsOn,
        }),
    );
    const notificationChannels = this.channels.map((c) => c.id);
    const services = props.functionNames.map((n) => `"${n}"`).join(' OR ');
    const fnLogs = `resource.type="cloud_run_revision" AND resource.labels.service_name=(${services})`;

    const metric = (mid: string, event: string, description: string) =>
      new LoggingMetric(this, mid, {
        project,
        name: `${p}_${event}`,
        description,
        filter: `${fnLogs} AND jsonPayload.event="${event}"`,
        labelExtractors: { env: 'EXTRACT(jsonPayload.env)' },
        metricDescriptor: {
          metricKind: 'DELTA',
          valueType: 'INT64',
          unit: '1',
          labels: [{ key: 'env', valueType: 'STRING', description: 'Environment of the snapshot' }],
        },
        dependsOn,
      });
    const succeeded = metric('sync-succeeded-metric', SYNC_LOG_EVENTS.succeeded, 'Snapshots loaded successfully, by environment');
    const failed = metric('sync-failed-metric', SYNC_LOG_EVENTS.failed, 'Snapshot loads that failed or were quarantined, by environment');
    const metricFilter = (m: LoggingMetric) => `metric.type="logging.googleapis.com/user/${m.name}" AND resource.type="cloud_run_revision"`;

    this.policies.push(
      new MonitoringAlertPolicy(this, 'function-errors', {
        project,
        displayName: `${p}: function errors`,
        combiner: 'OR',
        severity: 'ERROR',
        conditions: [{ displayName: 'ERROR log entries from the sync functions', conditionMatchedLog: { filter: `${fnLogs} AND severity>=ERROR` } }],
        // Required for log-match conditions: at most one notification per 5 minutes.
        alertStrategy: { notificationRateLimit: { period: '300s' }, autoClose: '1800s' },
        notificationChannels,
        documentation: { content: 'A sync function logged an error. Logs Explorer: the filter of this condition.', mimeType: 'text/markdown' },
        dependsOn,
      }),
    );

    this.policies.push(
      new MonitoringAlertPolicy(this, 'failed-loads', {
        project,
        displayName: `${p}: failed snapshot loads`,
        combiner: 'OR',
        severity: 'ERROR',
        conditions: [
          {
            displayName: `more than ${props.maxFailedLoadsPerHour} failed loads in an hour`,
            conditionThreshold: {
              filter: metricFilter(failed),
              comparison: 'COMPARISON_GT',
              thresholdValue: props.maxFailedLoadsPerHour,
              duration: '0s',
              aggregations: [{ alignmentPeriod: '3600s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['metric.label.env'] }],
              trigger: { count: 1 },
            },
          },
        ],
        alertStrategy: { autoClose: '86400s' },
        notificationChannels,
        documentation: { content: 'Snapshots are failing to load (see the quarantine/ prefix and the sync_runs table).', mimeType: 'text/markdown' },
      }),
    );

    for (const env of props.environments) {
      this.policies.push(
        new MonitoringAlertPolicy(this, `no-sync-${env}`, {
          project,
          displayName: `${p}: no successful sync from ${env}`,
          combiner: 'OR',
          severity: 'WARNING',
          conditions: [
            {
              displayName: `no ${SYNC_LOG_EVENTS.succeeded} for env ${env}`,
              // Absence durations are capped at 23.5 h; it fires only after data has arrived once.
              conditionAbsent: {
                filter: `${metricFilter(succeeded)} AND metric.label.env="${env}"`,
                duration: props.noSyncWindow,
                aggregations: [{ alignmentPeriod: '3600s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM' }],
                trigger: { count: 1 },
              },
            },
          ],
          notificationChannels,
          documentation: { content: `No snapshot from environment "${env}" has loaded for a day. Check its uploader (aqe-upload status).`, mimeType: 'text/markdown' },
        }),
      );
    }

    this.policies.push(
      new MonitoringAlertPolicy(this, 'vm-down', {
        project,
        displayName: `${p}: database VM down`,
        combiner: 'OR',
        severity: 'CRITICAL',
        conditions: [
          {
            displayName: 'no uptime reported by the database VM for 5 minutes',
            conditionAbsent: {
              filter: `metric.type="compute.googleapis.com/instance/uptime" AND resource.type="gce_instance" AND resource.labels.instance_id="${props.instance.instanceId}"`,
              duration: '300s',
              aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MEAN' }],
              trigger: { count: 1 },
            },
          },
        ],
        notificationChannels,
        documentation: { content: 'The database VM stopped reporting uptime (stopped, crashed, or being recreated).', mimeType: 'text/markdown' },
      }),
    );
  }
}
