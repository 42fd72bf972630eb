// What a first real deploy would hit, checked on the synthesized stack (the deploy rehearsal in
// test/rehearsal/ executes the rest): the alerts sit at the design's thresholds, every runbook step
// is runnable with the roles granted, the build has its documented roles and skips the CUDA
// download, images are cleaned up, the VM has no way to the internet but the image mirror,
// DEPLOY.md counts what is synthesized, and the stateful resources keep their construct ids.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOG_EVENTS } from '../../functions/entry-points.js';
import { resourceNames } from '../../infra/config.js';
import { ALERT_THRESHOLDS } from '../../infra/constructs/alerts.js';
import { FUNCTION_IMAGE_RETENTION } from '../../infra/constructs/artifact-repositories.js';
import { VM_METRICS } from '../../infra/constructs/database-cloud-config.js';
import { PREDEFINED_ROLE_PERMISSIONS, RUNBOOK, type Scope } from '../../infra/runbook.js';
import { allResources, only, ref, REPO_ROOT, type Res, resourcesOf, type Synthesized, synthDeployment } from './synth-support.js';

let s: Synthesized;
beforeAll(() => {
  s = synthDeployment();
});

const policyNamed = (re: RegExp): Res => {
  const hits = resourcesOf(s.tf, 'google_monitoring_alert_policy').filter(([, p]) => re.test(p.display_name));
  if (hits.length !== 1) throw new Error(`expected one alert policy matching ${re}, found ${hits.length}`);
  return hits[0]![1];
};
const metricOf = (policy: Res): Res => {
  const filter = String(policy.conditions[0].condition_threshold?.filter ?? policy.conditions[0].condition_absent?.filter);
  const id = /google_logging_metric\.([\w-]+)\.name/.exec(filter)?.[1];
  return s.tf.resource.google_logging_metric[id ?? ''];
};

describe('alerts at the design thresholds', () => {
  it.each([
    ['newest snapshot older than', 'snapshotAgeSeconds', LOG_EVENTS.environmentHealth, 'newestSnapshotAgeSeconds', [86_400, 259_200]],
    ['load failure rate', 'loadFailureRate', LOG_EVENTS.environmentHealth, 'failureRate', [0.05, 0.2]],
    ['load lag', 'loadLagSeconds', LOG_EVENTS.syncLag, 'lagSeconds', [300, 900]],
  ] as const)('%s: WARNING and CRITICAL per environment, from the functions\u2019 structured logs', (title, key, event, field, [warning, critical]) => {
    expect(ALERT_THRESHOLDS[key]).toEqual({ warning, critical });
    for (const [level, value, severity] of [['warning', warning, 'WARNING'], ['critical', critical, 'CRITICAL']] as const) {
      const p = policyNamed(new RegExp(`${title}.*\\(${level}\\)`));
      expect(p.severity).toBe(severity);
      const c = p.conditions[0].condition_threshold;
      expect(c).toMatchObject({ comparison: 'COMPARISON_GT', threshold_value: value });
      expect(c.aggregations[0].group_by_fields).toEqual(['metric.label.env']);
      const m = metricOf(p);
      expect(m.filter).toContain(`jsonPayload.event="${event}"`);
      expect(m.value_extractor).toBe(`EXTRACT(jsonPayload.${field})`);
      // the thresholds are bucket bounds: a percentile never crosses one its samples did not
      expect(m.bucket_options.explicit_buckets.bounds).toEqual(expect.arrayContaining([warning, critical]));
      expect(m.label_extractors).toEqual({ env: 'EXTRACT(jsonPayload.env)' });
    }
  });

  it('PostgreSQL down (not the VM): the health metric below 1 for 3 minutes, or absent for 5', () => {
    const p = policyNamed(/PostgreSQL down/);
    expect(p.severity).toBe('CRITICAL');
    const [below, absent] = p.conditions;
    expect(below.condition_threshold).toMatchObject({ comparison: 'COMPARISON_LT', threshold_value: 1, duration: `${ALERT_THRESHOLDS.postgresDownSeconds.critical}s` });
    expect(below.condition_threshold.filter).toContain(`metric.type="${VM_METRICS.postgresUp}"`);
    expect(absent.condition_absent.filter).toContain(`metric.type="${VM_METRICS.postgresUp}"`);
    expect(ALERT_THRESHOLDS.postgresDownSeconds.critical).toBe(180);
  });

  it('the data disk above 80 %', () => {
    const p = policyNamed(/data disk above/);
    expect(p.conditions[0].condition_threshold).toMatchObject({ comparison: 'COMPARISON_GT', threshold_value: 80 });
    expect(p.conditions[0].condition_threshold.filter).toContain(`metric.type="${VM_METRICS.dataDiskUsedPercent}"`);
  });

  it('keeps function errors (rate-limited), the VM going down, and a silent reconcile', () => {
    expect(policyNamed(/function errors/).alert_strategy.notification_rate_limit.period).toBe('300s');
    expect(policyNamed(/database VM down/).conditions[0].condition_absent.filter).toContain('compute.googleapis.com/instance/uptime');
    expect(policyNamed(/reconcile has not reported/).conditions[0].condition_absent.duration).toBe('7200s');
    const [channelId] = only(s.tf, 'google_monitoring_notification_channel');
    for (const [, p] of resourcesOf(s.tf, 'google_monitoring_alert_policy')) expect(p.notification_channels).toEqual([ref('google_monitoring_notification_channel', channelId, 'id')]);
  });
});

describe('the runbook is runnable with the roles granted', () => {
  const scopeOf = (type: string, b: Res): Scope | null => {
    if (type === 'google_project_iam_member') return 'project';
    if (type === 'google_compute_instance_iam_member' || type === 'google_iap_tunnel_instance_iam_member') return 'instance';
    if (type === 'google_service_account_iam_member') return /google_service_account\.db_sa_/.test(b.service_account_id) ? 'vm-service-account' : null;
    if (type === 'google_secret_manager_secret_iam_member') return /db-reader-secret/.test(b.secret_id) ? 'reader-secret' : 'sync-secret';
    return null;
  };
  const permissionsOf = (role: string): readonly string[] => {
    const custom = /^\$\{google_project_iam_custom_role\.([\w-]+)\.id\}$/.exec(role)?.[1];
    if (custom) return s.tf.resource.google_project_iam_custom_role[custom].permissions as string[];
    return PREDEFINED_ROLE_PERMISSIONS[role] ?? [];
  };
  const granted = (member: string): Set<string> => {
    const out = new Set<string>();
    for (const [type, , b] of allResources(s.tf)) {
      if (!type.endsWith('_iam_member') || b.member !== member) continue;
      const scope = scopeOf(type, b);
      if (scope) for (const p of permissionsOf(b.role)) out.add(`${p}@${scope}`);
    }
    return out;
  };

  it.each(RUNBOOK.map((step) => [step.id, step] as const))('%s', (_id, step) => {
    const members = step.who === 'admins' ? s.config.admins : [...s.config.operators, ...s.config.admins];
    expect(members.length).toBeGreaterThan(0);
    for (const member of members) {
      const have = granted(member);
      const missing = step.needs.filter((n) => !have.has(`${n.permission}@${n.on}`)).map((n) => `${n.permission} on ${n.on}`);
      expect(missing, `${member} cannot run "${step.command}" (${step.section})`).toEqual([]);
    }
  });

  it('every predefined role granted to people is in the catalogue (so the check above sees its permissions)', () => {
    const people = new Set([...s.config.operators, ...s.config.admins]);
    const roles = allResources(s.tf).filter(([t, , b]) => t.endsWith('_iam_member') && people.has(b.member) && String(b.role).startsWith('roles/')).map(([, , b]) => b.role);
    for (const r of new Set(roles)) expect(Object.keys(PREDEFINED_ROLE_PERMISSIONS), r).toContain(r);
  });
});

describe('the function build', () => {
  it('skips the CUDA download, pushes to our repository, and runs as a build account with the documented roles, each confined', () => {
    const [repoId, repo] = resourcesOf(s.tf, 'google_artifact_registry_repository').find(([, r]) => r.repository_id === resourceNames(s.config).functionImages)!;
    for (const [, f] of resourcesOf(s.tf, 'google_cloudfunctions2_function')) {
      expect(f.build_config.environment_variables).toEqual({ ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' });
      expect(f.build_config.docker_repository).toBe(ref('google_artifact_registry_repository', repoId, 'id'));
    }
    expect(repo.cleanup_policy_dry_run).toBe(false);
    expect(repo.cleanup_policies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'DELETE', condition: { older_than: `${FUNCTION_IMAGE_RETENTION.olderThanDays * 86_400}s` } }),
        expect.objectContaining({ action: 'KEEP', most_recent_versions: { keep_count: FUNCTION_IMAGE_RETENTION.keepMostRecent } }),
      ]),
    );
    const build = '${google_service_account.function-source_build-sa_';
    const project = resourcesOf(s.tf, 'google_project_iam_member').filter(([, b]) => String(b.member).startsWith(build)).map(([, b]) => b);
    expect(project.map((b) => b.role).sort()).toEqual(['roles/logging.logWriter', 'roles/storage.objectAdmin']);
    const objectAdmin = project.find((b) => b.role === 'roles/storage.objectAdmin')!;
    expect(objectAdmin.condition.expression).toContain('projects/_/buckets/gcf-v2-sources-');
    expect(objectAdmin.condition.expression).toContain(`projects/_/buckets/${resourceNames(s.config).sourceBucket}/`);
    const writers = resourcesOf(s.tf, 'google_artifact_registry_repository_iam_member').filter(([, b]) => String(b.member).startsWith(build));
    expect(writers.map(([, b]) => [b.role, b.repository])).toEqual([['roles/artifactregistry.writer', ref('google_artifact_registry_repository', repoId, 'name')]]);
  });
});

describe('egress', () => {
  it('the VM has no NAT and no router: its image comes from the Artifact Registry mirror of Docker Hub, which it may only read', () => {
    expect(resourcesOf(s.tf, 'google_compute_router_nat')).toEqual([]);
    expect(resourcesOf(s.tf, 'google_compute_router')).toEqual([]);
    const [mirrorId, mirror] = resourcesOf(s.tf, 'google_artifact_registry_repository').find(([, r]) => r.mode === 'REMOTE_REPOSITORY')!;
    expect(mirror.remote_repository_config.docker_repository.public_repository).toBe('DOCKER_HUB');
    const grants = resourcesOf(s.tf, 'google_artifact_registry_repository_iam_member').filter(([, b]) => b.repository === ref('google_artifact_registry_repository', mirrorId, 'name'));
    expect(grants.map(([, b]) => [b.role, b.member])).toEqual([['roles/artifactregistry.reader', expect.stringMatching(/^\$\{google_service_account\.db_sa_\w+\.member\}$/)]]);
    const [, vm] = only(s.tf, 'google_compute_instance');
    expect(vm.network_interface[0].access_config).toBeUndefined();
  });
});

describe('DEPLOY.md matches the synthesized stack', () => {
  const deploy = readFileSync(join(REPO_ROOT, 'infra', 'DEPLOY.md'), 'utf8');

  it('states the resource and data-source counts of the example', () => {
    const m = /The example deployment synthesizes (\d+) resources and (\d+) data sources/.exec(deploy);
    expect(m, 'DEPLOY.md must state the counts').not.toBeNull();
    const dataSources = Object.values((s.tf.data ?? {}) as Record<string, Record<string, unknown>>).reduce((n, byId) => n + Object.keys(byId).length, 0);
    expect([Number(m![1]), Number(m![2])]).toEqual([allResources(s.tf).length, dataSources]);
  });

  it('prices what is synthesized and nothing that is not (no NAT, the image mirror and function images)', () => {
    const table = deploy.slice(deploy.indexOf('## Monthly cost'), deploy.indexOf('## After the first real deploy'));
    expect(table).not.toMatch(/\| Cloud NAT|NAT external IPv4/);
    for (const row of ['VM e2-medium', 'Data disk', 'Serverless VPC Access connector', 'Artifact Registry', 'Secret Manager', 'Snapshot bucket']) expect(table).toContain(row);
    expect(table).toMatch(/Secret Manager \| .*2 secrets/);
  });
});

describe('stateful resources keep their construct ids (a rename would replace them)', () => {
  // The logical ids Terraform keys its state by: a construct renamed or moved changes its id, and
  // `terraform apply` would then destroy the resource and create an empty one.
  it.each([
    ['google_storage_bucket', 'aqe-snapshots', 'snapshots_bucket_F62B0969'],
    ['google_compute_disk', 'aqe-db-data', 'db_data-disk_46E12D11'],
    ['google_compute_instance', 'aqe-db', 'db_vm_C110C6AD'],
    ['google_secret_manager_secret', 'aqe-db-password', 'db-secret_E653DB88'],
    ['google_secret_manager_secret', 'aqe-db-reader-password', 'db-reader-secret_B7B57783'],
    ['google_compute_address', 'aqe-db-ip', 'db_address_596EFDBA'],
  ] as const)('%s %s', (type, name, id) => {
    const hits = resourcesOf(s.tf, type).filter(([, b]) => String(b.name ?? b.secret_id).endsWith(name));
    expect(hits.map(([logical]) => logical)).toEqual([id]);
  });
});
