// Alerting at the thresholds the design names (DESIGN.md §4, reconcile's staleness): per
// environment, the newest loaded snapshot older than 1 day / 3 days, the load failure rate above
// 5 % / 20 %, the lag from manifest written to loaded above 5 / 15 minutes; PostgreSQL down (not
// only the VM); the data disk above 80 %; function errors; the VM down. The first three come from
// the functions' structured logs (log-based distribution metrics whose bucket bounds are the
// thresholds, so a percentile can never cross a threshold its samples did not), the next two from
// the custom metrics the VM's health unit writes.
import type { ComputeInstance } from '@cdktf/provider-google/lib/compute-instance/index.js';
import { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric/index.js';
import { MonitoringAlertPolicy, type MonitoringAlertPolicyConditions } from '@cdktf/provider-google/lib/monitoring-alert-policy/index.js';
import { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { LOG_EVENTS } from '../../functions/entry-points.js';
import { VM_METRICS } from './database-cloud-config.js';

/** Re-exported for the tests and DEPLOY.md: the events the alerts depend on. */
export const SYNC_LOG_EVENTS = { succeeded: LOG_EVENTS.syncSucceeded, failed: LOG_EVENTS.syncFailed } as const;

/** Cloud SQL's own metrics the managed engine's alerts watch (resource type cloudsql_database). */
export const CLOUD_SQL_METRICS = {
  up: 'cloudsql.googleapis.com/database/up',
  /** A fraction (0-1) of the instance's storage. */
  diskUtilization: 'cloudsql.googleapis.com/database/disk/utilization',
} as const;

/** The thresholds (WARNING / CRITICAL), fixed by the design. */
export const ALERT_THRESHOLDS = {
  snapshotAgeSeconds: { warning: 86_400, critical: 259_200 },
  loadFailureRate: { warning: 0.05, critical: 0.2 },
  loadLagSeconds: { warning: 300, critical: 900 },
  dataDiskUsedPercent: { warning: 80 },
  /** PostgreSQL not accepting connections for this long (health reports every minute). */
  postgresDownSeconds: { critical: 180 },
  /** No environment report from reconcile (hourly) for this long: staleness cannot be judged. */
  reconcileSilentSeconds: { warning: 7_200 },
} as const;

export interface AlertsProps {
  readonly project: string;
  readonly namePrefix: string;
  readonly emails: readonly string[];
  /** Cloud Run service names of the functions (gen-2 functions log as cloud_run_revision). */
  readonly functionNames: readonly string[];
  /** The database VM (engine vm-ruvector), or the Cloud SQL instance's monitoring id `project:instance`. */
  readonly database: { readonly kind: 'vm'; readonly instance: ComputeInstance } | { readonly kind: 'cloudsql'; readonly databaseId: string };
  readonly dependsOn?: ITerraformDependable[];
}

type Severity = 'WARNING' | 'CRITICAL' | 'ERROR';

export class Alerts extends Construct {
  readonly channels: MonitoringNotificationChannel[];
  readonly policies: MonitoringAlertPolicy[] = [];
  private readonly props: AlertsProps;
  private readonly notificationChannels: string[];

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    this.props = props;
    const { project, namePrefix: p, dependsOn } = props;
    const t = ALERT_THRESHOLDS;
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
    this.notificationChannels = this.channels.map((c) => c.id);
    const services = props.functionNames.map((n) => `"${n}"`).join(' OR ');
    const fnLogs = `resource.type="cloud_run_revision" AND resource.labels.service_name=(${services})`;

    const envLabel = { labelExtractors: { env: 'EXTRACT(jsonPayload.env)' }, labels: [{ key: 'env', valueType: 'STRING', description: 'Environment of the snapshot' }] };
    const counter = (mid: string, event: string, description: string) =>
      new LoggingMetric(this, mid, {
        project,
        name: `${p}_${event}`,
        description,
        filter: `${fnLogs} AND jsonPayload.event="${event}"`,
        labelExtractors: envLabel.labelExtractors,
        metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1', labels: envLabel.labels },
        dependsOn,
      });
    /** A distribution of one numeric field; the thresholds are bucket bounds. */
    const distribution = (mid: string, name: string, event: string, field: string, unit: string, bounds: readonly number[], description: string) =>
      new LoggingMetric(this, mid, {
        project,
        name: `${p}_${name}`,
        description,
        filter: `${fnLogs} AND jsonPayload.event="${event}" AND jsonPayload.${field}>=0`,
        valueExtractor: `EXTRACT(jsonPayload.${field})`,
        labelExtractors: envLabel.labelExtractors,
        bucketOptions: { explicitBuckets: { bounds: [...bounds] } },
        metricDescriptor: { metricKind: 'DELTA', valueType: 'DISTRIBUTION', unit, labels: envLabel.labels },
        dependsOn,
      });
    counter('sync-succeeded-metric', LOG_EVENTS.syncSucceeded, 'Snapshots loaded successfully, by environment');
    counter('sync-failed-metric', LOG_EVENTS.syncFailed, 'Snapshot loads that failed or were quarantined, by environment');
    const age = distribution(
      'snapshot-age-metric', 'snapshot_age_seconds', LOG_EVENTS.environmentHealth, 'newestSnapshotAgeSeconds', 's',
      [3_600, 21_600, t.snapshotAgeSeconds.warning, 172_800, t.snapshotAgeSeconds.critical, 604_800],
      'Age of the newest loaded snapshot per environment, reported by reconcile every run',
    );
    const rate = distribution(
      'failure-rate-metric', 'load_failure_rate', LOG_EVENTS.environmentHealth, 'failureRate', '1',
      [0.01, t.loadFailureRate.warning, 0.1, t.loadFailureRate.critical, 0.5],
      'Share of loads that failed or were quarantined in the last 24 h per environment, reported by reconcile',
    );
    const lag = distribution(
      'load-lag-metric', 'load_lag_seconds', LOG_EVENTS.syncLag, 'lagSeconds', 's',
      [10, 60, t.loadLagSeconds.warning, 600, t.loadLagSeconds.critical, 3_600],
      'Seconds from a manifest written (its object creation time) to its snapshot loaded',
    );
    const fromLogs = (m: LoggingMetric) => `metric.type="logging.googleapis.com/user/${m.name}" AND resource.type="cloud_run_revision"`;
    const percentile = (m: LoggingMetric, periodSeconds: number, threshold: number, display: string): MonitoringAlertPolicyConditions => ({
      displayName: display,
      conditionThreshold: {
        filter: fromLogs(m),
        comparison: 'COMPARISON_GT',
        thresholdValue: threshold,
        duration: '0s',
        aggregations: [{ alignmentPeriod: `${periodSeconds}s`, perSeriesAligner: 'ALIGN_PERCENTILE_99', crossSeriesReducer: 'REDUCE_MAX', groupByFields: ['metric.label.env'] }],
        trigger: { count: 1 },
      },
    });

    for (const level of ['warning', 'critical'] as const) {
      const severity: Severity = level === 'warning' ? 'WARNING' : 'CRITICAL';
      const ageS = t.snapshotAgeSeconds[level];
      this.policy(`snapshot-age-${level}`, `${p}: newest snapshot older than ${ageS / 3600} h (${level})`, severity,
        [percentile(age, 3_600, ageS, `newest loaded snapshot of an environment older than ${ageS} s`)],
        `An environment's newest loaded snapshot is older than ${ageS / 86_400} day(s). Check its uploader (\`aqe-upload status\`) and the quarantine/ prefix.`);
      const r = t.loadFailureRate[level];
      this.policy(`failure-rate-${level}`, `${p}: load failure rate above ${r * 100} % (${level})`, severity,
        [percentile(rate, 3_600, r, `more than ${r * 100} % of an environment's loads failed in the last 24 h`)],
        'Snapshots are failing to load: see the quarantine/ prefix, `aqe-upload status` and the sync_runs table.');
      const l = t.loadLagSeconds[level];
      this.policy(`load-lag-${level}`, `${p}: load lag above ${l / 60} min (${level})`, severity,
        [percentile(lag, 900, l, `a snapshot loaded more than ${l} s after its manifest was written`)],
        'Loads lag behind pushes: the loader is slow, retrying, or its trigger is backed up (see the loader logs).');
    }
    this.policy('reconcile-silent', `${p}: reconcile has not reported for ${t.reconcileSilentSeconds.warning / 3600} h`, 'WARNING', [
      {
        displayName: 'no environment report from reconcile',
        conditionAbsent: {
          filter: fromLogs(age),
          duration: `${t.reconcileSilentSeconds.warning}s`,
          aggregations: [{ alignmentPeriod: '3600s', perSeriesAligner: 'ALIGN_COUNT', crossSeriesReducer: 'REDUCE_SUM' }],
          trigger: { count: 1 },
        },
      },
    ], 'The scheduled reconcile has not reported environment health: snapshot age and failure rate cannot be judged. Check the Scheduler job and the reconcile logs.');

    if (props.database.kind === 'vm') {
      const instance = props.database.instance;
      const onVm = (metric: string) => `metric.type="${metric}" AND resource.type="gce_instance" AND resource.labels.instance_id="${instance.instanceId}"`;
      this.policy('postgres-down', `${p}: PostgreSQL down`, 'CRITICAL', [
        {
          displayName: `PostgreSQL not accepting connections for ${t.postgresDownSeconds.critical} s`,
          conditionThreshold: {
            filter: onVm(VM_METRICS.postgresUp),
            comparison: 'COMPARISON_LT',
            thresholdValue: 1,
            duration: `${t.postgresDownSeconds.critical}s`,
            aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
            trigger: { count: 1 },
          },
        },
        {
          displayName: 'no PostgreSQL health report for 5 minutes (the VM or its health unit is down)',
          conditionAbsent: { filter: onVm(VM_METRICS.postgresUp), duration: '300s', aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }], trigger: { count: 1 } },
        },
      ], 'PostgreSQL on the database VM does not accept connections (pg_isready, every minute). `journalctl -u aqe-postgres` over IAP SSH (admins).');
      this.policy('data-disk-full', `${p}: data disk above ${t.dataDiskUsedPercent.warning} %`, 'WARNING', [
        {
          displayName: `data disk more than ${t.dataDiskUsedPercent.warning} % used`,
          conditionThreshold: {
            filter: onVm(VM_METRICS.dataDiskUsedPercent),
            comparison: 'COMPARISON_GT',
            thresholdValue: t.dataDiskUsedPercent.warning,
            duration: '300s',
            aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
            trigger: { count: 1 },
          },
        },
      ], 'The Postgres data disk is filling up: raise database.dataDiskSizeGb and apply (the boot resizes the filesystem).');
    } else {
      this.cloudSqlPolicies(props.database.databaseId);
    }
    this.policy('function-errors', `${p}: function errors`, 'ERROR', [
      { displayName: 'ERROR log entries from the sync functions', conditionMatchedLog: { filter: `${fnLogs} AND severity>=ERROR` } },
    ], 'A sync function logged an error. Logs Explorer: the filter of this condition.', { notificationRateLimit: { period: '300s' }, autoClose: '1800s' });
    if (props.database.kind === 'vm') {
      const instance = props.database.instance;
      this.policy('vm-down', `${p}: database VM down`, 'CRITICAL', [
        {
          displayName: 'no uptime reported by the database VM for 5 minutes',
          conditionAbsent: {
            filter: `metric.type="compute.googleapis.com/instance/uptime" AND resource.type="gce_instance" AND resource.labels.instance_id="${instance.instanceId}"`,
            duration: '300s',
            aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MEAN' }],
            trigger: { count: 1 },
          },
        },
      ], 'The database VM stopped reporting uptime (stopped, crashed, or being recreated).');
    }
  }

  /** Engine cloudsql-pgvector: the instance's own metrics (no VM, no health unit). */
  private cloudSqlPolicies(databaseId: string): void {
    const p = this.props.namePrefix;
    const t = ALERT_THRESHOLDS;
    const onSql = (metric: string) => `metric.type="${metric}" AND resource.type="cloudsql_database" AND resource.labels.database_id="${databaseId}"`;
    this.policy('postgres-down', `${p}: PostgreSQL down`, 'CRITICAL', [
      {
        displayName: `Cloud SQL instance not up for ${t.postgresDownSeconds.critical} s`,
        conditionThreshold: {
          filter: onSql(CLOUD_SQL_METRICS.up),
          comparison: 'COMPARISON_LT',
          thresholdValue: 1,
          duration: `${t.postgresDownSeconds.critical}s`,
          aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
          trigger: { count: 1 },
        },
      },
      {
        displayName: 'no Cloud SQL up metric for 5 minutes',
        conditionAbsent: { filter: onSql(CLOUD_SQL_METRICS.up), duration: '300s', aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }], trigger: { count: 1 } },
      },
    ], 'The Cloud SQL instance is not serving (maintenance overrun, failover, or an outage). Console: SQL → the instance → Operations and logs.');
    this.policy('data-disk-full', `${p}: data disk above ${t.dataDiskUsedPercent.warning} %`, 'WARNING', [
      {
        displayName: `Cloud SQL storage more than ${t.dataDiskUsedPercent.warning} % used`,
        conditionThreshold: {
          filter: onSql(CLOUD_SQL_METRICS.diskUtilization),
          comparison: 'COMPARISON_GT',
          thresholdValue: t.dataDiskUsedPercent.warning / 100,
          duration: '300s',
          aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
          trigger: { count: 1 },
        },
      },
    ], 'Cloud SQL storage is filling up: automatic storage increase stops at database.cloudSql.diskAutoresizeLimitGb; raise it (or diskSizeGb) and apply.');
  }

  private policy(
    id: string,
    displayName: string,
    severity: Severity,
    conditions: MonitoringAlertPolicyConditions[],
    documentation: string,
    alertStrategy: { notificationRateLimit?: { period: string }; autoClose: string } = { autoClose: '86400s' },
  ): void {
    this.policies.push(
      new MonitoringAlertPolicy(this, id, {
        project: this.props.project,
        displayName,
        combiner: 'OR',
        severity,
        conditions,
        alertStrategy,
        notificationChannels: this.notificationChannels,
        documentation: { content: documentation, mimeType: 'text/markdown' },
        dependsOn: this.props.dependsOn,
      }),
    );
  }
}
