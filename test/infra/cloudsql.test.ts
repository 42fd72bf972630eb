// The managed engine (database.engine "cloudsql-pgvector"), synthesized: Cloud SQL on a private IP
// only (private services access, no public IP, TLS required), backups with point-in-time recovery,
// deletion protection and a maintenance window, the secrets wired to the functions (TLS CA, the
// admin role to the bootstrap and the rotation only), the functions' VPC egress reaching the
// instance's range, least-privilege grants, and the operators' way in through an IAP-only bastion.
// The VM engine's own synthesis is pinned by the other files of this folder.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV, ENTRY_POINTS, MANAGED_DB_ENTRY_POINTS } from '../../functions/entry-points.js';
import { IAP_SOURCE_RANGE, loadDeploymentConfigFile, parseDeploymentConfig, resourceNames } from '../../infra/config.js';
import { CLOUD_SQL_METRICS } from '../../infra/constructs/alerts.js';
import { cloudSqlFlags } from '../../infra/constructs/cloud-sql-database.js';
import { MANAGED_RUNBOOK, PREDEFINED_ROLE_PERMISSIONS, type Scope } from '../../infra/runbook.js';
import { allResources, EXAMPLE_CONFIG_FILE, only, ref, REPO_ROOT, type Res, resourcesOf, type Synthesized, synthDeployment } from './synth-support.js';

const CLOUDSQL_CONFIG_FILE = `${REPO_ROOT}/infra/deployments/example-cloudsql.json`;

let s: Synthesized;
let sqlId: string;
let sql: Res;
const fns = () => resourcesOf(s.tf, 'google_cloudfunctions2_function');
const fnOf = (entryPoint: string): Res => {
  const hit = fns().find(([, f]) => f.build_config.entry_point === entryPoint);
  if (!hit) throw new Error(`no function for ${entryPoint}`);
  return hit[1];
};
const envOf = (entryPoint: string) => fnOf(entryPoint).service_config.environment_variables as Record<string, string>;
const secretRef = (secretId: string) => {
  const [id] = resourcesOf(s.tf, 'google_secret_manager_secret').find(([, b]) => b.secret_id === secretId)!;
  return ref('google_secret_manager_secret', id, 'id');
};

beforeAll(() => {
  s = synthDeployment(loadDeploymentConfigFile(CLOUDSQL_CONFIG_FILE));
  [sqlId, sql] = only(s.tf, 'google_sql_database_instance');
});

describe('engine config', () => {
  const raw = () => JSON.parse(JSON.stringify(loadDeploymentConfigFile(CLOUDSQL_CONFIG_FILE))) as Res;

  it('defaults to the VM engine, and the managed one needs no image', () => {
    expect(loadDeploymentConfigFile(EXAMPLE_CONFIG_FILE).database.engine).toBe('vm-ruvector');
    const c = loadDeploymentConfigFile(CLOUDSQL_CONFIG_FILE);
    expect(c.database).toMatchObject({ engine: 'cloudsql-pgvector', cloudSql: { version: 'POSTGRES_17', highAvailability: false, pitrDays: 7 } });
    expect(c.database.image).toBeUndefined();
  });

  it('refuses an engine mismatch, a shared-core HA tier, an overlapping private services range and Cloud SQL role names, naming each field', () => {
    const vmWithoutImage = raw();
    vmWithoutImage.database = { engine: 'vm-ruvector' };
    expect(parseDeploymentConfig(vmWithoutImage)).toMatchObject({ ok: false, issues: [expect.stringMatching(/^database\.image: engine vm-ruvector needs/)] });
    const bad = raw();
    bad.database = { ...bad.database, image: 'ruvnet/ruvector-postgres:2.0.5', adminUser: 'cloudsqladmin', cloudSql: { ...bad.database.cloudSql, tier: 'db-g1-small', highAvailability: true, privateServicesCidr: '10.10.0.0/16' } };
    const r = parseDeploymentConfig(bad);
    expect(r.ok).toBe(false);
    const issues = r.ok ? [] : r.issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^database\.image: engine cloudsql-pgvector runs no container image/),
        expect.stringMatching(/^database\.cloudSql\.tier: db-g1-small is a shared-core tier/),
        expect.stringMatching(/^database\.cloudSql\.privateServicesCidr: 10\.10\.0\.0\/16 overlaps network\.subnetCidr/),
        expect.stringMatching(/^database\.adminUser: "cloudsqladmin" is reserved by Cloud SQL/),
      ]),
    );
  });
});

describe('the managed database, synthesized', () => {
  it('runs no database VM and no ruvector firewall: the only VM is the bastion', () => {
    const vms = resourcesOf(s.tf, 'google_compute_instance');
    expect(vms.map(([, v]) => v.name)).toEqual([resourceNames(s.config).bastion]);
    expect(resourcesOf(s.tf, 'google_compute_disk')).toEqual([]);
    expect(resourcesOf(s.tf, 'google_compute_address')).toEqual([]);
    expect(resourcesOf(s.tf, 'google_artifact_registry_repository').map(([, r]) => r.mode ?? 'STANDARD_REPOSITORY')).toEqual(['STANDARD_REPOSITORY']);
  });

  it('has no public IP: private IP only on our VPC through private services access, TLS required, no authorized networks', () => {
    const ip = sql.settings.ip_configuration;
    const [vpcId] = only(s.tf, 'google_compute_network');
    const [rangeId, range] = only(s.tf, 'google_compute_global_address');
    const [connId, conn] = only(s.tf, 'google_service_networking_connection');
    expect(ip).toMatchObject({ ipv4_enabled: false, private_network: ref('google_compute_network', vpcId, 'id'), allocated_ip_range: ref('google_compute_global_address', rangeId, 'name'), ssl_mode: 'ENCRYPTED_ONLY' });
    expect(ip.authorized_networks).toBeUndefined();
    expect(ip.psc_config).toBeUndefined();
    expect(range).toMatchObject({ purpose: 'VPC_PEERING', address_type: 'INTERNAL', address: '10.20.0.0', prefix_length: 20, network: ref('google_compute_network', vpcId, 'id') });
    expect(conn).toMatchObject({ service: 'servicenetworking.googleapis.com', network: ref('google_compute_network', vpcId, 'id'), reserved_peering_ranges: [ref('google_compute_global_address', rangeId, 'name')] });
    expect(sql.depends_on).toContain(`google_service_networking_connection.${connId}`);
    expect(resourcesOf(s.tf, 'google_project_service').map(([, a]) => a.service)).toEqual(expect.arrayContaining(['sqladmin.googleapis.com', 'servicenetworking.googleapis.com']));
  });

  it('keeps automated backups with point-in-time recovery, deletion protection twice, a maintenance window and the workload flags', () => {
    const c = s.config.database.cloudSql;
    expect(sql.database_version).toBe('POSTGRES_17');
    expect(sql.deletion_protection).toBe(true);
    expect(sql.settings).toMatchObject({
      tier: c.tier,
      edition: 'ENTERPRISE',
      availability_type: 'ZONAL',
      deletion_protection_enabled: true,
      retain_backups_on_delete: true,
      disk_autoresize: true,
      backup_configuration: {
        enabled: true,
        point_in_time_recovery_enabled: true,
        transaction_log_retention_days: 7,
        start_time: '03:00',
        location: s.config.region,
        backup_retention_settings: { retained_backups: 14, retention_unit: 'COUNT' },
      },
      maintenance_window: { day: 7, hour: 4, update_track: 'stable' },
    });
    expect(sql.settings.database_flags).toEqual(cloudSqlFlags(c.tier));
    const flags = Object.fromEntries((sql.settings.database_flags as Array<{ name: string; value: string }>).map((f) => [f.name, f.value]));
    expect(flags).toMatchObject({ log_connections: 'on', log_min_duration_statement: '-1', maintenance_work_mem: String((3840 * 1024) / 8) });
    // the database and the admin role: no password anywhere in Terraform
    expect(only(s.tf, 'google_sql_database')[1]).toMatchObject({ name: 'aqe', instance: ref('google_sql_database_instance', sqlId, 'name'), deletion_policy: 'ABANDON' });
    const [, admin] = only(s.tf, 'google_sql_user');
    expect(admin).toMatchObject({ name: 'aqe_admin', type: 'BUILT_IN' });
    expect(Object.keys(admin).filter((k) => /password/.test(k))).toEqual([]);
  });

  it('turns regional HA on with one flag', () => {
    const ha = parseDeploymentConfig({ ...loadDeploymentConfigFile(CLOUDSQL_CONFIG_FILE), database: { engine: 'cloudsql-pgvector', cloudSql: { highAvailability: true } } });
    if (!ha.ok) throw new Error(ha.issues.join('\n'));
    expect(only(synthDeployment(ha.config).tf, 'google_sql_database_instance')[1].settings.availability_type).toBe('REGIONAL');
  });

  it('wires the functions to the private IP with TLS verified against the instance CA; only the bootstrap and the rotation know the admin role', () => {
    const n = resourceNames(s.config);
    expect(fns().map(([, f]) => f.build_config.entry_point).sort()).toEqual([...Object.values(ENTRY_POINTS), MANAGED_DB_ENTRY_POINTS.bootstrapDatabase].sort());
    for (const [, f] of fns()) {
      const env = f.service_config.environment_variables as Record<string, string>;
      expect(env[CONFIG_ENV.dbHost]).toBe(ref('google_sql_database_instance', sqlId, 'private_ip_address'));
      expect(env[CONFIG_ENV.dbSslCa]).toBe(`\${google_sql_database_instance.${sqlId}.server_ca_cert[0].cert}`);
      expect(env[CONFIG_ENV.dbPasswordSecret]).toBe(secretRef(n.secretId));
      expect(env[CONFIG_ENV.dbUser]).toBe('aqe_sync');
    }
    for (const ep of [ENTRY_POINTS.loadSnapshot, ENTRY_POINTS.reconcile]) {
      expect(envOf(ep)[CONFIG_ENV.dbAdminUser]).toBeUndefined();
      expect(envOf(ep)[CONFIG_ENV.dbAdminPasswordSecret]).toBeUndefined();
    }
    for (const ep of [ENTRY_POINTS.rotateSecret, MANAGED_DB_ENTRY_POINTS.bootstrapDatabase]) {
      expect(envOf(ep)).toMatchObject({
        [CONFIG_ENV.dbAdminUser]: 'aqe_admin',
        [CONFIG_ENV.dbAdminPasswordSecret]: secretRef(n.adminSecretId),
        [CONFIG_ENV.dbReaderUser]: 'aqe_reader',
        [CONFIG_ENV.dbReaderPasswordSecret]: secretRef(n.readerSecretId),
      });
    }
    // three rotated secrets, one topic, the rotation function triggered by it
    const secrets = resourcesOf(s.tf, 'google_secret_manager_secret').map(([, b]) => b);
    expect(secrets.map((b) => b.secret_id).sort()).toEqual([n.adminSecretId, n.secretId, n.readerSecretId].sort());
    expect(new Set(secrets.map((b) => JSON.stringify(b.topics))).size).toBe(1);
    expect(fnOf(ENTRY_POINTS.rotateSecret).event_trigger.pubsub_topic).toBe(secrets[0]!.topics[0].name);
  });

  it('reaches the instance through the functions\' VPC egress: connector on the same VPC, private ranges only, the instance range private', () => {
    const [connId, connector] = only(s.tf, 'google_vpc_access_connector');
    const [, vpc] = only(s.tf, 'google_compute_network');
    expect(connector.network).toBe(ref('google_compute_network', 'network_vpc_4E8F0223', 'name'));
    expect(vpc.name).toBe(resourceNames(s.config).network);
    for (const [, f] of fns()) {
      expect(f.service_config.vpc_connector).toBe(ref('google_vpc_access_connector', connId, 'id'));
      expect(f.service_config.vpc_connector_egress_settings).toBe('PRIVATE_RANGES_ONLY');
      expect(f.service_config.ingress_settings).toBe('ALLOW_INTERNAL_ONLY');
    }
    // PRIVATE_RANGES_ONLY sends RFC 1918 destinations through the connector: the instance's range is one
    expect(s.config.database.cloudSql.privateServicesCidr).toMatch(/^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.)/);
  });

  it('grants least privilege: each secret per identity, no Cloud SQL role to any function, nobody else reads the admin password', () => {
    const n = resourceNames(s.config);
    const grantsOn = (secretId: string) =>
      resourcesOf(s.tf, 'google_secret_manager_secret_iam_member')
        .filter(([, b]) => b.secret_id === ref('google_secret_manager_secret', resourcesOf(s.tf, 'google_secret_manager_secret').find(([, x]) => x.secret_id === secretId)![0], 'secret_id'))
        .map(([, b]) => `${String(b.member).replace(/^\$\{google_service_account\.([a-z-]+)_.*$/, '$1').replace(/^serviceAccount:.*$/, 'agent')} ${b.role.replace('roles/secretmanager.', '')}`)
        .sort();
    // (admins may move its rotation schedule, as for the other secrets; they never read it)
    expect(grantsOn(n.adminSecretId)).toEqual([
      'bootstrap-database secretAccessor',
      expect.stringMatching(/^group:aqe-admins@example\.com \$\{google_project_iam_custom_role\.operators_rotation-schedule-role_\w+\.id\}$/),
      'rotate-secret secretAccessor',
      'rotate-secret secretVersionAdder',
      'rotate-secret secretVersionManager',
    ]);
    expect(grantsOn(n.secretId).filter((g) => g.endsWith('secretAccessor'))).toEqual(['bootstrap-database secretAccessor', 'load-snapshot secretAccessor', 'reconcile secretAccessor', 'rotate-secret secretAccessor']);
    expect(grantsOn(n.readerSecretId).filter((g) => g.endsWith('secretAccessor'))).toEqual(['bootstrap-database secretAccessor', 'group:aqe-admins@example.com secretAccessor', 'group:aqe-operators@example.com secretAccessor', 'rotate-secret secretAccessor']);
    // password auth over the private IP needs no IAM role on Cloud SQL: none is granted
    const sqlRoles = resourcesOf(s.tf, 'google_project_iam_member').filter(([, b]) => /^roles\/cloudsql\./.test(b.role));
    expect(sqlRoles).toEqual([]);
  });

  it('binds every IAM grant to a service account we created, a configured member, or a Google service agent', () => {
    const ours = new Set(resourcesOf(s.tf, 'google_service_account').map(([id]) => ref('google_service_account', id, 'member')));
    const configured = new Set([...s.config.operators, ...s.config.admins, ...s.config.environments.flatMap((e) => [...e.uploaders, ...e.impersonators])]);
    const bindings = Object.keys(s.tf.resource).filter((t) => t.endsWith('_iam_member')).flatMap((t) => resourcesOf(s.tf, t).map(([id, b]) => [`${t}.${id}`, String(b.member)] as const));
    expect(bindings.length).toBeGreaterThan(40);
    const strangers = bindings.filter(([, m]) => !(ours.has(m) || configured.has(m) || /gcp-sa-secretmanager|google_storage_project_service_account|@gcf-admin-robot\.|@serverless-robot-prod\./.test(m)));
    expect(strangers).toEqual([]);
  });

  it('calls the bootstrap from Cloud Scheduler with an OIDC token of the scheduler identity, which may invoke it', () => {
    const boot = fnOf(MANAGED_DB_ENTRY_POINTS.bootstrapDatabase);
    expect(boot.service_config).toMatchObject({ ingress_settings: 'ALLOW_INTERNAL_ONLY', max_instance_count: 1 });
    const [, job] = resourcesOf(s.tf, 'google_cloud_scheduler_job').find(([, j]) => j.name === resourceNames(s.config).bootstrapJob)!;
    const [bootId] = fns().find(([, f]) => f === boot)!;
    expect(job.http_target.uri).toBe(`\${google_cloudfunctions2_function.${bootId}.service_config[0].uri}`);
    expect(job.http_target.oidc_token.service_account_email).toMatch(/^\$\{google_service_account\.scheduler_sa_\w+\.email\}$/);
    expect(job.schedule).toBe('23 3 * * *');
    const invokers = resourcesOf(s.tf, 'google_cloud_run_v2_service_iam_member').filter(([, b]) => String(b.name).includes(bootId));
    expect(invokers.map(([, b]) => [b.role, b.member])).toEqual([['roles/run.invoker', expect.stringMatching(/^\$\{google_service_account\.scheduler_sa_\w+\.member\}$/)]]);
  });

  it('lets operators in through an IAP-only bastion: no external IP, SSH from IAP only, OS Login on it alone, the tunnel command forwards to the private IP', () => {
    const [bastionId, bastion] = only(s.tf, 'google_compute_instance');
    expect(bastion.network_interface[0].access_config).toBeUndefined();
    expect(bastion.metadata['user-data']).toBeUndefined();
    const rules = resourcesOf(s.tf, 'google_compute_firewall').map(([, r]) => r);
    expect(rules.map((r) => r.name).sort()).toEqual(['aqe-allow-iap-to-sql-bastion', 'aqe-deny-all-to-sql-bastion']);
    const allow = rules.find((r) => r.allow)!;
    expect(allow).toMatchObject({ source_ranges: [IAP_SOURCE_RANGE], target_tags: bastion.tags, allow: [{ protocol: 'tcp', ports: ['22'] }] });
    for (const [, t] of resourcesOf(s.tf, 'google_iap_tunnel_instance_iam_member')) expect(t.instance).toBe(ref('google_compute_instance', bastionId, 'name'));
    expect(s.tf.output.tunnel_command.value).toBe(
      `gcloud compute ssh aqe-sql-bastion --tunnel-through-iap --zone ${s.config.zone} --project ${s.config.project} -- -N -L 5432:\${google_sql_database_instance.${sqlId}.private_ip_address}:5432`,
    );
    expect(Object.keys(s.tf.output)).toEqual(expect.arrayContaining(['sql_instance', 'sql_private_ip', 'sql_server_ca_cert', 'bastion_name', 'db_admin_password_secret', 'database_url']));
  });

  it('alerts on the instance\'s own up and storage metrics (no VM health unit)', () => {
    const policies = resourcesOf(s.tf, 'google_monitoring_alert_policy').map(([, p]) => p);
    expect(policies.some((p) => /database VM down/.test(p.display_name))).toBe(false);
    const down = policies.find((p) => /PostgreSQL down/.test(p.display_name))!;
    expect(down.conditions[0].condition_threshold.filter).toBe(`metric.type="${CLOUD_SQL_METRICS.up}" AND resource.type="cloudsql_database" AND resource.labels.database_id="${s.config.project}:aqe-pg"`);
    const disk = policies.find((p) => /data disk/.test(p.display_name))!;
    expect(disk.conditions[0].condition_threshold).toMatchObject({ threshold_value: 0.8, filter: expect.stringContaining(CLOUD_SQL_METRICS.diskUtilization) });
  });
});

describe('the managed runbook is runnable with the roles granted', () => {
  const scopeOf = (type: string, b: Res): Scope | null => {
    if (type === 'google_project_iam_member') return 'project';
    if (type === 'google_compute_instance_iam_member' || type === 'google_iap_tunnel_instance_iam_member') return 'instance';
    if (type === 'google_service_account_iam_member') return /google_service_account\.sql-bastion_sa_/.test(b.service_account_id) ? 'vm-service-account' : null;
    if (type === 'google_secret_manager_secret_iam_member') return /db-reader-secret/.test(b.secret_id) ? 'reader-secret' : /db-admin-secret/.test(b.secret_id) ? 'admin-secret' : 'sync-secret';
    return null;
  };
  const permissionsOf = (role: string): readonly string[] => {
    const custom = /^\$\{google_project_iam_custom_role\.([\w-]+)\.id\}$/.exec(role)?.[1];
    if (custom) return s.tf.resource.google_project_iam_custom_role[custom].permissions as string[];
    return PREDEFINED_ROLE_PERMISSIONS[role] ?? [];
  };

  it.each(MANAGED_RUNBOOK.map((step) => [step.id, step] as const))('%s', (_id, step) => {
    const members = step.who === 'admins' ? s.config.admins : [...s.config.operators, ...s.config.admins];
    expect(members.length).toBeGreaterThan(0);
    for (const member of members) {
      const have = new Set<string>();
      for (const [type, , b] of allResources(s.tf)) {
        if (!type.endsWith('_iam_member') || b.member !== member) continue;
        const scope = scopeOf(type, b);
        if (scope) for (const p of permissionsOf(b.role)) have.add(`${p}@${scope}`);
      }
      const missing = step.needs.filter((n) => !have.has(`${n.permission}@${n.on}`)).map((n) => `${n.permission} on ${n.on}`);
      expect(missing, `${member} cannot run "${step.command}" (${step.section})`).toEqual([]);
    }
  });

  it('nobody but the bootstrap and the rotation reads the admin password (admins move its schedule only)', () => {
    const people = new Set([...s.config.operators, ...s.config.admins]);
    const reads = resourcesOf(s.tf, 'google_secret_manager_secret_iam_member').filter(([, b]) => /db-admin-secret/.test(b.secret_id) && people.has(b.member) && b.role === 'roles/secretmanager.secretAccessor');
    expect(reads).toEqual([]);
  });
});

describe('DEPLOY.md matches the managed synthesis', () => {
  const deploy = readFileSync(join(REPO_ROOT, 'infra', 'DEPLOY.md'), 'utf8');

  it('states the resource count of the managed example', () => {
    const m = /`infra\/deployments\/example-cloudsql\.json`, synthesizes (\d+) resources/.exec(deploy);
    expect(m, 'DEPLOY.md must state the count').not.toBeNull();
    expect(Number(m![1])).toBe(allResources(s.tf).length);
  });

  it('prices the managed rows: instance tiers, HA, storage, backups, the bastion, three secrets', () => {
    const table = deploy.slice(deploy.indexOf('### Managed engine (`cloudsql-pgvector`)'), deploy.indexOf('## After the first real deploy'));
    for (const row of ['Cloud SQL db-custom-1-3840', 'highAvailability: true', 'Cloud SQL storage', 'Backups and point-in-time logs', 'SQL bastion e2-micro']) expect(table).toContain(row);
    expect(table).toMatch(/Secret Manager \| 3 secrets/);
    expect(deploy).toContain('## Choosing the database engine');
  });
});
