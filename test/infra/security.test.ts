// Security policy over the synthesized JSON, mirroring the checkov / trivy (tfsec) GCP rules we
// cannot run here (notes/gcp-infra.md §4.2). Each rule returns its violations, so a failure names
// the resource and the value.
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadDeploymentConfigFile, resourceNames } from '../../infra/config.js';
import { renderDatabaseCloudConfig } from '../../infra/constructs/database-cloud-config.js';
import { allResources, keysIn, only, REPO_ROOT, resourcesOf, type Synthesized, stringsIn, synthDeployment, type Tf } from './synth-support.js';

let s: Synthesized;
/** The managed engine (database.engine cloudsql-pgvector): every rule holds there too. */
let managed: Synthesized;
beforeAll(() => {
  s = synthDeployment();
  managed = synthDeployment(loadDeploymentConfigFile(join(REPO_ROOT, 'infra', 'deployments', 'example-cloudsql.json')));
});

const WORLD = ['0.0.0.0/0', '::/0'];
const BASIC_OR_PROJECT_WIDE_IMPERSONATION = ['roles/owner', 'roles/editor', 'roles/viewer', 'roles/iam.serviceAccountUser', 'roles/iam.serviceAccountTokenCreator'];
const ADMIN_ROLE = /^roles\/(iam\.(serviceAccountAdmin|securityAdmin|roleAdmin)|resourcemanager\.\w+Admin|storage\.admin|secretmanager\.admin)$/;
const PUBLIC = /^(allUsers|allAuthenticatedUsers)$/;
const DEFAULT_SA = /-compute@developer\.gserviceaccount\.com|@appspot\.gserviceaccount\.com/;
/** A literal password assignment: `password=x`, `PGPASSWORD=x`, `"password": "x"`, a URL with user:pass@. */
// (a file name such as pg-password: is not an assignment; POSTGRES_PASSWORD= and PGPASSWORD= are)
// (a psql variable such as PASSWORD :'sync_password' is not a literal either)
const PASSWORD_LITERAL = /(?:^|[^/.\w-]|_|PG)(pass(word|wd)?|pwd)["']?\s*[=:]\s*["']?(?!\$\{)(?![a-z_]*_password['"])[^\s"'$]{3,}|:\/\/[^/\s:@]+:[^@\s]+@/i;

type Rule = { id: string; title: string; violations: (tf: Tf) => string[] };

const iamMembers = (tf: Tf) =>
  allResources(tf).filter(([type]) => type.endsWith('_iam_member') || type.endsWith('_iam_binding') || type.endsWith('_iam_policy'));

const RULES: Rule[] = [
  {
    id: 'CKV_GCP_40 / GCP-0031',
    title: 'no public IP anywhere (no access_config)',
    violations: (tf) =>
      resourcesOf(tf, 'google_compute_instance').flatMap(([id, vm]) =>
        (vm.network_interface ?? []).some((ni: Record<string, unknown>) => ni.access_config !== undefined && JSON.stringify(ni.access_config) !== '[]') ? [id] : [],
      ),
  },
  {
    id: 'CKV_GCP_2/3/88/106, CKV2_GCP_12 / GCP-0027, GCP-0072',
    title: 'no firewall allows ingress from 0.0.0.0/0 or ::/0',
    violations: (tf) =>
      resourcesOf(tf, 'google_compute_firewall').flatMap(([id, r]) =>
        r.allow && (r.direction ?? 'INGRESS') === 'INGRESS' && (r.source_ranges ?? []).some((c: string) => WORLD.includes(c)) ? [id] : [],
      ),
  },
  {
    id: 'CKV_GCP_11, CKV_GCP_60 / GCP-0017',
    title: 'Cloud SQL: no public IP, no authorized networks, a private network',
    violations: (tf) =>
      resourcesOf(tf, 'google_sql_database_instance').flatMap(([id, i]) => {
        const ip = i.settings?.ip_configuration ?? {};
        return ip.ipv4_enabled === false && ip.authorized_networks === undefined && typeof ip.private_network === 'string' ? [] : [id];
      }),
  },
  {
    id: 'CKV_GCP_6 / GCP-0015',
    title: 'Cloud SQL: TLS required on every connection',
    violations: (tf) => resourcesOf(tf, 'google_sql_database_instance').flatMap(([id, i]) => (['ENCRYPTED_ONLY', 'TRUSTED_CLIENT_CERTIFICATE_REQUIRED'].includes(i.settings?.ip_configuration?.ssl_mode) ? [] : [id])),
  },
  {
    id: 'CKV_GCP_14 / GCP-0024',
    title: 'Cloud SQL: automated backups with point-in-time recovery, deletion protection',
    violations: (tf) =>
      resourcesOf(tf, 'google_sql_database_instance').flatMap(([id, i]) => {
        const b = i.settings?.backup_configuration ?? {};
        return b.enabled === true && b.point_in_time_recovery_enabled === true && i.deletion_protection === true && i.settings?.deletion_protection_enabled === true ? [] : [id];
      }),
  },
  {
    id: 'CKV_GCP_39 / GCP-0041, GCP-0045, GCP-0067',
    title: 'Shielded VM: secure boot, vTPM, integrity monitoring',
    violations: (tf) =>
      resourcesOf(tf, 'google_compute_instance').flatMap(([id, vm]) => {
        const c = vm.shielded_instance_config ?? {};
        return c.enable_secure_boot === true && c.enable_vtpm === true && c.enable_integrity_monitoring === true ? [] : [id];
      }),
  },
  {
    id: 'CKV_GCP_34, CKV_GCP_32, CKV_GCP_35 / GCP-0036, GCP-0030, GCP-0032',
    title: 'OS Login on, project SSH keys blocked, serial port off',
    violations: (tf) =>
      resourcesOf(tf, 'google_compute_instance').flatMap(([id, vm]) => {
        const m = vm.metadata ?? {};
        const bad: string[] = [];
        if (String(m['enable-oslogin']).toUpperCase() !== 'TRUE') bad.push(`${id}: enable-oslogin`);
        if (String(m['block-project-ssh-keys']).toUpperCase() !== 'TRUE') bad.push(`${id}: block-project-ssh-keys`);
        if (m['serial-port-enable'] !== undefined && !/^(false|0)$/i.test(String(m['serial-port-enable']))) bad.push(`${id}: serial-port-enable`);
        if (m['ssh-keys'] !== undefined || m['sshKeys'] !== undefined) bad.push(`${id}: ssh keys in metadata`);
        return bad;
      }),
  },
  {
    id: 'CKV_GCP_36 / GCP-0043',
    title: 'no IP forwarding',
    violations: (tf) => resourcesOf(tf, 'google_compute_instance').flatMap(([id, vm]) => (vm.can_ip_forward === true ? [id] : [])),
  },
  {
    id: 'CKV_GCP_30, CKV_GCP_31 / GCP-0044',
    title: 'VM runs as a dedicated service account, not the default compute SA',
    violations: (tf) =>
      resourcesOf(tf, 'google_compute_instance').flatMap(([id, vm]) => {
        const email = String(vm.service_account?.email ?? '');
        return /^\$\{google_service_account\.[\w-]+\.email\}$/.test(email) ? [] : [`${id}: ${email}`];
      }),
  },
  {
    id: 'CKV_GCP_27, CKV2_GCP_18 / GCP-0010, GCP-0073',
    title: 'custom-mode network only',
    violations: (tf) => resourcesOf(tf, 'google_compute_network').flatMap(([id, n]) => (n.auto_create_subnetworks === false ? [] : [id])),
  },
  {
    id: 'CKV_GCP_26, CKV_GCP_74 / GCP-0029, GCP-0075',
    title: 'subnets have flow logs and Private Google Access',
    violations: (tf) =>
      resourcesOf(tf, 'google_compute_subnetwork').flatMap(([id, sn]) => (sn.log_config && sn.private_ip_google_access === true ? [] : [id])),
  },
  {
    id: 'CKV_GCP_29, CKV_GCP_114, CKV_GCP_78 / GCP-0002, GCP-0078',
    title: 'buckets: uniform access, public access prevention enforced, versioning',
    violations: (tf) =>
      resourcesOf(tf, 'google_storage_bucket').flatMap(([id, b]) =>
        b.uniform_bucket_level_access === true && b.public_access_prevention === 'enforced' && b.versioning?.enabled === true ? [] : [id],
      ),
  },
  {
    id: 'CKV_GCP_28, CKV_GCP_99, CKV_GCP_102, CKV_GCP_107 / GCP-0001',
    title: 'no allUsers / allAuthenticatedUsers anywhere (buckets, topics, functions, Cloud Run)',
    violations: (tf) =>
      [
        ...iamMembers(tf).flatMap(([t, id, b]) => [b.member, ...(b.members ?? [])].filter((m) => PUBLIC.test(String(m))).map(() => `${t}.${id}`)),
        ...stringsIn(tf.resource).filter((x) => /\ballUsers\b|\ballAuthenticatedUsers\b/.test(x.value)).map((x) => x.path),
      ],
  },
  {
    id: 'CKV_GCP_117, CKV_GCP_41, CKV_GCP_42, CKV_GCP_49 / GCP-0007, GCP-0011',
    title: 'no basic roles, no project-level serviceAccountUser/TokenCreator, no admin roles for service accounts',
    violations: (tf) =>
      resourcesOf(tf, 'google_project_iam_member').flatMap(([id, b]) =>
        BASIC_OR_PROJECT_WIDE_IMPERSONATION.includes(b.role) || ADMIN_ROLE.test(b.role) ? [`${id}: ${b.role}`] : [],
      ),
  },
  {
    id: 'GCP-0003, GCP-0069',
    title: 'IAM goes to groups and service accounts, never individual users',
    violations: (tf) => iamMembers(tf).flatMap(([t, id, b]) => (String(b.member).startsWith('user:') ? [`${t}.${id}`] : [])),
  },
  {
    id: 'CKV_GCP_46 / GCP-0006',
    title: 'default service accounts are granted nothing',
    violations: (tf) => iamMembers(tf).flatMap(([t, id, b]) => (DEFAULT_SA.test(String(b.member)) ? [`${t}.${id}`] : [])),
  },
  {
    id: 'no-sa-keys',
    title: 'no service-account keys, no secret versions (their data would sit in state)',
    violations: (tf) =>
      ['google_service_account_key', 'google_secret_manager_secret_version'].flatMap((t) => resourcesOf(tf, t).map(([id]) => `${t}.${id}`)),
  },
  {
    id: 'secret-rotation',
    title: 'every secret rotates and announces it on a topic',
    violations: (tf) =>
      resourcesOf(tf, 'google_secret_manager_secret').flatMap(([id, sec]) =>
        sec.rotation?.rotation_period && sec.rotation?.next_rotation_time && (sec.topics ?? []).length > 0 ? [] : [id],
      ),
  },
  {
    id: 'CKV_GCP_124',
    title: 'functions: internal ingress only, runtime nodejs22',
    violations: (tf) =>
      resourcesOf(tf, 'google_cloudfunctions2_function').flatMap(([id, f]) => [
        ...(f.service_config?.ingress_settings === 'ALLOW_INTERNAL_ONLY' ? [] : [`${id}: ingress ${f.service_config?.ingress_settings}`]),
        ...(['nodejs22'].includes(f.build_config?.runtime) ? [] : [`${id}: runtime ${f.build_config?.runtime}`]),
      ]),
  },
  {
    id: 'no-password-literals',
    title: 'no resource string or key carries a password literal',
    violations: (tf) => [
      ...stringsIn(tf).filter((x) => PASSWORD_LITERAL.test(x.value)).map((x) => `${x.path}: ${x.value.slice(0, 80)}`),
      ...keysIn(tf)
        .filter((k) => /password|secret_data/i.test(k.key) && !/password_secret$/i.test(k.key))
        .map((k) => `${k.path}.${k.key}`),
    ],
  },
];

describe('infra security policy', () => {
  it.each(RULES.map((r) => [`${r.id}: ${r.title}`, r] as const))('%s', (_name, rule) => {
    expect(rule.violations(s.tf)).toEqual([]);
  });

  it.each(RULES.map((r) => [`${r.id}: ${r.title}`, r] as const))('managed engine: %s', (_name, rule) => {
    expect(rule.violations(managed.tf)).toEqual([]);
  });

  it('the Cloud SQL rules fire on a public, unencrypted, unprotected instance', () => {
    const bad = { resource: { google_sql_database_instance: { x: { deletion_protection: false, settings: { ip_configuration: { ipv4_enabled: true, ssl_mode: 'ALLOW_UNENCRYPTED_AND_ENCRYPTED' }, backup_configuration: { enabled: true } } } } } };
    for (const id of ['CKV_GCP_11, CKV_GCP_60 / GCP-0017', 'CKV_GCP_6 / GCP-0015', 'CKV_GCP_14 / GCP-0024']) expect(RULES.find((r) => r.id === id)!.violations(bad), id).toEqual(['x']);
    expect(resourcesOf(managed.tf, 'google_sql_database_instance')).toHaveLength(1);
  });

  it('the password detector catches what it must (and the DB env var is a resource name)', () => {
    const rule = RULES.find((r) => r.id === 'no-password-literals')!;
    expect(rule.violations({ a: 'POSTGRES_PASSWORD=hunter2' })).toHaveLength(1);
    expect(rule.violations({ a: 'export PGPASSWORD=hunter2' })).toHaveLength(1);
    expect(rule.violations({ a: '{"password": "hunter2"}' })).toHaveLength(1);
    expect(rule.violations({ a: 'postgres://aqe:s3cret@10.0.0.2:5432/aqe' })).toHaveLength(1);
    expect(rule.violations({ a: { secret_data: 'x' } })).toHaveLength(1);
    expect(rule.violations({ a: '-e POSTGRES_PASSWORD_FILE=/run/secrets/pg-password' })).toEqual([]);
    for (const [, f] of resourcesOf(s.tf, 'google_cloudfunctions2_function')) {
      expect(f.service_config.environment_variables.AQE_DB_PASSWORD_SECRET).toMatch(/^\$\{google_secret_manager_secret\.[\w-]+\.id\}$/);
    }
  });

  it('the world-open firewall rule detector fires on an allow from 0.0.0.0/0', () => {
    const rule = RULES.find((r) => r.id.startsWith('CKV_GCP_2/'))!;
    expect(rule.violations({ resource: { google_compute_firewall: { x: { allow: [{ protocol: 'tcp' }], source_ranges: ['0.0.0.0/0'] } } } })).toEqual(['x']);
  });

  it('denies all other ingress to the VM at low priority (and only deny rules use 0.0.0.0/0)', () => {
    const world = resourcesOf(s.tf, 'google_compute_firewall').filter(([, r]) => r.source_ranges.includes('0.0.0.0/0'));
    expect(world).toHaveLength(1);
    expect(world[0]?.[1]).toMatchObject({ deny: [{ protocol: 'all' }], priority: 65534, direction: 'INGRESS' });
    expect(world[0]?.[1].allow).toBeUndefined();
  });

  it('keeps the snapshot bucket lifecycle: noncurrent, quarantine/ and snapshots/ expire; blobs/ never by age', () => {
    const [, b] = resourcesOf(s.tf, 'google_storage_bucket').find(([, x]) => x.name === resourceNames(s.config).bucket)!;
    const rules = b.lifecycle_rule as Array<{ action: { type: string }; condition: Record<string, unknown> }>;
    expect(rules).toContainEqual({ action: { type: 'Delete' }, condition: { days_since_noncurrent_time: s.config.bucket.noncurrentVersionDays, with_state: 'ARCHIVED' } });
    expect(rules).toContainEqual({ action: { type: 'Delete' }, condition: { matches_prefix: ['quarantine/'], age: s.config.bucket.quarantineDays } });
    expect(rules).toContainEqual({ action: { type: 'Delete' }, condition: { matches_prefix: ['snapshots/'], age: s.config.bucket.manifestRetentionDays } });
    for (const r of rules.filter((x) => x.action.type === 'Delete' && x.condition.age !== undefined)) {
      expect(r.condition.matches_prefix, 'an age rule without a prefix would expire blobs/').toBeDefined();
      expect(r.condition.matches_prefix).not.toContain('blobs/');
    }
    expect(b.force_destroy).toBe(false);
  });

  it('reconcile may delete under blobs/, snapshots/ and quarantine/ only (retention), with a delete-only custom role; nobody else deletes', () => {
    const roles = resourcesOf(s.tf, 'google_project_iam_custom_role').filter(([, r]) => (r.permissions as string[]).includes('storage.objects.delete'));
    expect(roles).toHaveLength(1);
    const [roleId, role] = roles[0]!;
    expect(role.permissions).toEqual(['storage.objects.delete']);
    const deleters = resourcesOf(s.tf, 'google_storage_bucket_iam_member').filter(([, g]) => g.role === `\${google_project_iam_custom_role.${roleId}.id}`);
    expect(deleters).toHaveLength(1);
    expect(deleters[0]?.[1].member).toMatch(/^\$\{google_service_account\.reconcile_sa_\w+\.member\}$/);
    const expr = String(deleters[0]?.[1].condition.expression);
    const prefixes = [...expr.matchAll(/resource\.name\.startsWith\("projects\/_\/buckets\/\$\{google_storage_bucket\.snapshots_bucket_\w+\.name\}\/objects\/([a-z]+\/)"\)/g)].map((m) => m[1]);
    expect(prefixes).toEqual(['blobs/', 'snapshots/', 'quarantine/']);
    expect(expr.split(' || ')).toHaveLength(3);
    const broad = resourcesOf(s.tf, 'google_storage_bucket_iam_member').filter(([, g]) => /objectAdmin|objectUser|storage\.admin|legacyBucket/.test(g.role));
    expect(broad).toEqual([]);
  });

  describe('database VM cloud-init', () => {
    const userData = () => String(only(s.tf, 'google_compute_instance')[1].metadata['user-data']);

    // What the scripts and units do is executed by test/rehearsal/deploy-rehearsal.test.ts; these
    // only pin what a reviewer reads in the metadata.
    it('names the secrets and the mirrored image, and holds no password', () => {
      const u = userData();
      expect(u.startsWith('#cloud-config\n')).toBe(true);
      expect(u).toContain(`fetch ${resourceNames(s.config).secretId} `);
      expect(u).toContain(`fetch ${resourceNames(s.config).readerSecretId} `);
      expect(u).toContain(`-docker.pkg.dev/${s.config.project}/${resourceNames(s.config).imageMirror}/${s.config.database.image}`);
      expect(PASSWORD_LITERAL.test(u)).toBe(false);
      // the image bakes POSTGRES_PASSWORD in: it is emptied beside the _FILE (the entrypoint refuses both)
      expect(u).toMatch(/-e POSTGRES_PASSWORD= \\\n\s+-e POSTGRES_PASSWORD_FILE=\/run\/secrets\/admin-password/);
    });

    it('refuses to synthesize a container line that breaks the image contract', () => {
      const input = { project: 'p', syncSecretId: 'a', readerSecretId: 'b', image: 'x-docker.pkg.dev/p/m/ruvnet/ruvector-postgres:2.0.5', registryHost: 'x-docker.pkg.dev', dbName: 'aqe', adminUser: 'aqe_admin', syncUser: 'aqe_sync', readerUser: 'aqe_reader', dataDeviceName: 'd', port: '5432' };
      expect(() => renderDatabaseCloudConfig(input)).not.toThrow();
      expect(() => renderDatabaseCloudConfig({ ...input, syncUser: 'aqe_admin' })).toThrow(/connects over TCP but is the superuser/);
      expect(() => renderDatabaseCloudConfig({ ...input, image: 'ruvnet/ruvector-postgres:latest' })).toThrow(/not pinned/);
    });

    it('uses user-data (updated in place), not a startup script or the deprecated container declaration', () => {
      const [, vm] = only(s.tf, 'google_compute_instance');
      expect(vm.metadata_startup_script).toBeUndefined();
      expect(vm.metadata['gce-container-declaration']).toBeUndefined();
      expect(vm.metadata['startup-script']).toBeUndefined();
    });
  });
});
