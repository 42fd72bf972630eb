// The synthesized stack is wired the way the design says: functions reach the DB through the
// connector, events come from our bucket and topic, and every grant names an identity we created.
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV, ENTRY_POINTS, LOCAL_ONLY_ENV } from '../../functions/entry-points.js';
import { IAP_SOURCE_RANGE, resourceNames } from '../../infra/config.js';
import { only, ref, resourcesOf, type Res, type Synthesized, synthDeployment } from './synth-support.js';

let s: Synthesized;
const fns = () => resourcesOf(s.tf, 'google_cloudfunctions2_function');
const fnNamed = (name: string): [string, Res] => {
  const f = fns().find(([, b]) => b.name === name);
  if (!f) throw new Error(`no function ${name}`);
  return f;
};
const saRefs = () => new Set(resourcesOf(s.tf, 'google_service_account').map(([id]) => ref('google_service_account', id, 'member')));

beforeAll(() => {
  s = synthDeployment();
});

describe('infra wiring', () => {
  it('deploys the three entry points on nodejs22 from one staged source object', () => {
    const [objId] = only(s.tf, 'google_storage_bucket_object');
    expect(fns().map(([, f]) => f.build_config.entry_point).sort()).toEqual(Object.values(ENTRY_POINTS).sort());
    for (const [, f] of fns()) {
      expect(f.build_config.runtime).toBe('nodejs22');
      expect(f.build_config.source.storage_source.object).toBe(ref('google_storage_bucket_object', objId, 'name'));
      expect(f.build_config.service_account).toMatch(/^\$\{google_service_account\.function-source_build-sa_\w+\.id\}$/);
    }
    const [, obj] = only(s.tf, 'google_storage_bucket_object');
    expect(obj.source).toMatch(/^assets\/function-source_asset_\w+\/[0-9A-F]+\/archive\.zip$/);
  });

  it('routes every function through the VPC connector, private ranges only, with its own service account', () => {
    const [connId] = only(s.tf, 'google_vpc_access_connector');
    const runtimeSas = new Set<string>();
    for (const [, f] of fns()) {
      expect(f.service_config.vpc_connector).toBe(ref('google_vpc_access_connector', connId, 'id'));
      expect(f.service_config.vpc_connector_egress_settings).toBe('PRIVATE_RANGES_ONLY');
      runtimeSas.add(f.service_config.service_account_email);
    }
    expect(runtimeSas.size).toBe(3);
  });

  it('wakes loadSnapshot for manifests only: a bucket notification on snapshots/ to its own topic, with its own trigger service account', () => {
    const [, f] = fnNamed(resourceNames(s.config).functions.loadSnapshot);
    const [bucketId] = resourcesOf(s.tf, 'google_storage_bucket').find(([, b]) => b.name === resourceNames(s.config).bucket) ?? [];
    const [topicId] = resourcesOf(s.tf, 'google_pubsub_topic').find(([, t]) => t.name === resourceNames(s.config).manifestTopic)!;
    const [, n] = only(s.tf, 'google_storage_notification');
    expect(n).toMatchObject({ bucket: ref('google_storage_bucket', bucketId as string, 'name'), topic: ref('google_pubsub_topic', topicId, 'id'), payload_format: 'JSON_API_V1', event_types: ['OBJECT_FINALIZE'], object_name_prefix: 'snapshots/' });
    expect(f.event_trigger.event_type).toBe('google.cloud.pubsub.topic.v1.messagePublished');
    expect(f.event_trigger.pubsub_topic).toBe(ref('google_pubsub_topic', topicId, 'id'));
    expect(f.event_trigger.event_filters).toBeUndefined();
    expect(f.event_trigger.trigger_region).toBe(s.config.region);
    expect(f.event_trigger.service_account_email).toMatch(/^\$\{google_service_account\.load-snapshot_trigger-sa_\w+\.email\}$/);
    expect(f.event_trigger.service_account_email).not.toBe(f.service_config.service_account_email);
  });

  it('gives the trigger SA eventReceiver and run.invoker on that function only, and the GCS agent publish on the manifest topic only', () => {
    const trigger = '${google_service_account.load-snapshot_trigger-sa_';
    const projectRoles = resourcesOf(s.tf, 'google_project_iam_member').filter(([, b]) => String(b.member).startsWith(trigger));
    expect(projectRoles.map(([, b]) => b.role)).toEqual(['roles/eventarc.eventReceiver']);
    const invokers = resourcesOf(s.tf, 'google_cloud_run_v2_service_iam_member').filter(([, b]) => String(b.member).startsWith(trigger));
    expect(invokers).toHaveLength(1);
    expect(invokers[0]?.[1]).toMatchObject({ role: 'roles/run.invoker', name: expect.stringMatching(/^\$\{google_cloudfunctions2_function\.load-snapshot_function_\w+\.name\}$/) });
    const gcsAgent = `serviceAccount:${ref('data.google_storage_project_service_account', 'gcs-agent', 'email_address')}`;
    expect(resourcesOf(s.tf, 'google_project_iam_member').filter(([, b]) => b.member === gcsAgent)).toEqual([]);
    const [topicId] = resourcesOf(s.tf, 'google_pubsub_topic').find(([, t]) => t.name === resourceNames(s.config).manifestTopic)!;
    const [pubId, pub] = resourcesOf(s.tf, 'google_pubsub_topic_iam_member').find(([, b]) => b.member === gcsAgent)!;
    expect(pub).toMatchObject({ role: 'roles/pubsub.publisher', topic: ref('google_pubsub_topic', topicId, 'name') });
    expect(only(s.tf, 'google_storage_notification')[1].depends_on).toContain(`google_pubsub_topic_iam_member.${pubId}`);
  });

  it('triggers rotateSecret on the rotation topic both rotated secrets announce on', () => {
    const [, f] = fnNamed(resourceNames(s.config).functions.rotateSecret);
    const [topicId] = resourcesOf(s.tf, 'google_pubsub_topic').find(([, t]) => t.name === resourceNames(s.config).rotationTopic)!;
    expect(f.event_trigger.event_type).toBe('google.cloud.pubsub.topic.v1.messagePublished');
    expect(f.event_trigger.pubsub_topic).toBe(ref('google_pubsub_topic', topicId, 'id'));
    for (const [, secret] of resourcesOf(s.tf, 'google_secret_manager_secret')) expect(secret.topics).toEqual([{ name: ref('google_pubsub_topic', topicId, 'id') }]);
    const env = f.service_config.environment_variables as Record<string, string>;
    expect(env[CONFIG_ENV.dbReaderUser]).toBe(s.config.database.readerUser);
    expect(env[CONFIG_ENV.dbReaderPasswordSecret]).toMatch(/^\$\{google_secret_manager_secret\.db-reader-secret_\w+\.id\}$/);
  });

  it('calls reconcile (HTTP, internal only) from Cloud Scheduler with an OIDC token of a dedicated SA that may invoke it', () => {
    const [fnId, f] = fnNamed(resourceNames(s.config).functions.reconcile);
    expect(f.event_trigger).toBeUndefined();
    expect(f.service_config.ingress_settings).toBe('ALLOW_INTERNAL_ONLY');
    const [, job] = only(s.tf, 'google_cloud_scheduler_job');
    const uri = ref('google_cloudfunctions2_function', fnId, 'service_config[0].uri');
    expect(job.http_target.uri).toBe(uri);
    expect(job.http_target.oidc_token.audience).toBe(uri);
    const schedSa = job.http_target.oidc_token.service_account_email as string;
    expect(schedSa).toMatch(/^\$\{google_service_account\.scheduler_sa_\w+\.email\}$/);
    const schedMember = schedSa.replace('.email}', '.member}');
    const grants = [...resourcesOf(s.tf, 'google_project_iam_member'), ...resourcesOf(s.tf, 'google_cloud_run_v2_service_iam_member')].filter(
      ([, b]) => b.member === schedMember,
    );
    expect(grants).toHaveLength(1);
    expect(grants[0]?.[1]).toMatchObject({ role: 'roles/run.invoker', name: ref('google_cloudfunctions2_function', fnId, 'name') });
    expect(JSON.parse(Buffer.from(job.http_target.body, 'base64').toString())).toMatchObject({ trigger: 'scheduler' });
  });

  it('passes config (DB host = the reserved internal address, the functions role, secret resource name, bucket) to the functions, never a secret value', () => {
    const [addrId, addr] = only(s.tf, 'google_compute_address');
    expect(addr).toMatchObject({ address_type: 'INTERNAL', purpose: 'GCE_ENDPOINT', subnetwork: expect.stringMatching(/^\$\{google_compute_subnetwork\./) });
    const [, vm] = only(s.tf, 'google_compute_instance');
    expect(vm.network_interface[0].network_ip).toBe(ref('google_compute_address', addrId, 'address'));
    const [secretId] = resourcesOf(s.tf, 'google_secret_manager_secret').find(([, x]) => x.secret_id === resourceNames(s.config).secretId)!;
    const [, loader] = fnNamed(resourceNames(s.config).functions.loadSnapshot);
    const env = loader.service_config.environment_variables as Record<string, string>;
    expect(env[CONFIG_ENV.dbHost]).toBe(ref('google_compute_address', addrId, 'address'));
    expect(env[CONFIG_ENV.dbUser]).toBe('aqe_sync');
    expect(env[CONFIG_ENV.logLevel]).toBe('INFO');
    expect(env[CONFIG_ENV.dbPasswordSecret]).toBe(ref('google_secret_manager_secret', secretId, 'id'));
    expect(env[CONFIG_ENV.bucket]).toMatch(/^\$\{google_storage_bucket\.snapshots_bucket_\w+\.name\}$/);
    expect(env[CONFIG_ENV.dbPort]).toBe('5432');
    const known = new Set<string>(Object.values(CONFIG_ENV));
    for (const [, f] of fns()) {
      expect(f.service_config.secret_environment_variables).toBeUndefined();
      for (const k of Object.keys(f.service_config.environment_variables)) expect(known).toContain(k);
      for (const k of LOCAL_ONLY_ENV) expect(f.service_config.environment_variables[k]).toBeUndefined();
    }
  });

  it('attaches the daily snapshot policy to the data disk', () => {
    const [diskId] = only(s.tf, 'google_compute_disk');
    const [policyId, policy] = only(s.tf, 'google_compute_resource_policy');
    const [, att] = only(s.tf, 'google_compute_disk_resource_policy_attachment');
    expect(att.disk).toBe(ref('google_compute_disk', diskId, 'name'));
    expect(att.name).toBe(ref('google_compute_resource_policy', policyId, 'name'));
    expect(policy.snapshot_schedule_policy.schedule.daily_schedule.days_in_cycle).toBe(1);
    expect(policy.snapshot_schedule_policy.retention_policy.max_retention_days).toBe(s.config.database.snapshotRetentionDays);
    const [, vm] = only(s.tf, 'google_compute_instance');
    expect(vm.attached_disk).toEqual([{ source: ref('google_compute_disk', diskId, 'id'), device_name: 'ruvector-data', mode: 'READ_WRITE' }]);
  });

  it('announces rotation on our topic, after the Secret Manager agent may publish there', () => {
    const [topicId] = resourcesOf(s.tf, 'google_pubsub_topic').find(([, t]) => t.name === resourceNames(s.config).rotationTopic)!;
    const agent = `serviceAccount:service-${ref('data.google_project', 'project', 'number')}@gcp-sa-secretmanager.iam.gserviceaccount.com`;
    const [agentId, grant] = resourcesOf(s.tf, 'google_pubsub_topic_iam_member').find(([, g]) => g.member === agent)!;
    expect(grant).toMatchObject({ role: 'roles/pubsub.publisher', topic: ref('google_pubsub_topic', topicId, 'name') });
    const secrets = resourcesOf(s.tf, 'google_secret_manager_secret');
    expect(secrets.map(([, x]) => x.secret_id).sort()).toEqual([resourceNames(s.config).secretId, resourceNames(s.config).readerSecretId].sort());
    for (const [, secret] of secrets) {
      expect(secret.topics).toEqual([{ name: ref('google_pubsub_topic', topicId, 'id') }]);
      expect(secret.depends_on).toContain(`google_pubsub_topic_iam_member.${agentId}`);
      expect(secret.lifecycle.ignore_changes).toEqual(['rotation[0].next_rotation_time']);
    }
  });

  it('grants secret access on each secret, per identity, least privilege (operators: the read-only role only)', () => {
    const grants: Record<string, Record<string, string[]>> = {};
    for (const [, g] of resourcesOf(s.tf, 'google_secret_manager_secret_iam_member')) {
      const secret = /google_secret_manager_secret\.(db-reader-secret|db-secret)_/.exec(g.secret_id)?.[1] ?? g.secret_id;
      const who = /google_service_account\.([\w-]+?)_sa_/.exec(g.member)?.[1] ?? g.member;
      const role = /google_project_iam_custom_role\.operators_rotation-schedule-role/.test(g.role) ? 'rotation-schedule' : g.role;
      ((grants[secret] ??= {})[who] ??= []).push(role);
    }
    for (const bySecret of Object.values(grants)) for (const k of Object.keys(bySecret)) bySecret[k]!.sort();
    const rotate = ['roles/secretmanager.secretAccessor', 'roles/secretmanager.secretVersionAdder', 'roles/secretmanager.secretVersionManager'];
    expect(grants['db-secret']).toEqual({
      db: ['roles/secretmanager.secretAccessor'],
      'load-snapshot': ['roles/secretmanager.secretAccessor'],
      reconcile: ['roles/secretmanager.secretAccessor'],
      'rotate-secret': rotate,
      'group:aqe-admins@example.com': ['rotation-schedule'],
    });
    expect(grants['db-reader-secret']).toEqual({
      db: ['roles/secretmanager.secretAccessor'],
      'rotate-secret': rotate,
      'group:aqe-operators@example.com': ['roles/secretmanager.secretAccessor'],
      'group:aqe-admins@example.com': ['roles/secretmanager.secretAccessor', 'rotation-schedule'],
    });
    expect(resourcesOf(s.tf, 'google_project_iam_member').filter(([, b]) => String(b.role).startsWith('roles/secretmanager'))).toEqual([]);
  });

  it('lets operators read the read-only password only when configured', () => {
    const off = synthDeployment({ ...s.config, operatorsReadPassword: false });
    const readers = resourcesOf(off.tf, 'google_secret_manager_secret_iam_member').filter(([, g]) => String(g.member).startsWith('group:') && g.role === 'roles/secretmanager.secretAccessor');
    expect(readers).toEqual([]);
  });

  it('binds every IAM grant to a service account we created, a configured member, or a Google service agent', () => {
    const ours = saRefs();
    const configured = new Set([
      ...s.config.operators,
      ...s.config.admins,
      ...s.config.environments.flatMap((e) => [...e.uploaders, ...e.impersonators]),
    ]);
    const iamTypes = Object.keys(s.tf.resource).filter((t) => t.endsWith('_iam_member'));
    expect(iamTypes.length).toBeGreaterThan(5);
    for (const t of iamTypes) {
      for (const [id, b] of resourcesOf(s.tf, t)) {
        const m = String(b.member);
        const ok = ours.has(m) || configured.has(m) || /gcp-sa-secretmanager|google_storage_project_service_account|@gcf-admin-robot\.|@serverless-robot-prod\./.test(m);
        expect(ok, `${t}.${id}: ${m}`).toBe(true);
      }
    }
  });

  it('confines uploaders to snapshots/<env>/ and blobs/ with IAM Conditions on the object resource name (touch: blobs/ only)', () => {
    const [bucketId] = resourcesOf(s.tf, 'google_storage_bucket').find(([, b]) => b.name === resourceNames(s.config).bucket) ?? [];
    const bucket = ref('google_storage_bucket', bucketId as string, 'name');
    const grants = resourcesOf(s.tf, 'google_storage_bucket_iam_member').filter(([id]) => id.includes('uploader-'));
    const laptop = grants.filter(([id]) => id.includes('uploader-laptop'));
    const toucherRoles = resourcesOf(s.tf, 'google_project_iam_custom_role').filter(([, r]) => String(r.role_id).endsWith('_blob_toucher'));
    expect(toucherRoles).toHaveLength(1);
    const [toucherId, toucher] = toucherRoles[0]!;
    expect(toucher.permissions).toEqual(['storage.objects.update']);
    const touch = ref('google_project_iam_custom_role', toucherId, 'id');
    expect(laptop.map(([, g]) => [g.role, g.condition.expression])).toEqual([
      [
        'roles/storage.objectCreator',
        `resource.name.startsWith("projects/_/buckets/${bucket}/objects/snapshots/laptop/") || resource.name.startsWith("projects/_/buckets/${bucket}/objects/blobs/")`,
      ],
      [
        'roles/storage.objectViewer',
        `resource.name.startsWith("projects/_/buckets/${bucket}/objects/blobs/") || resource.name.startsWith("projects/_/buckets/${bucket}/objects/snapshots/laptop/") || api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("snapshots/laptop/")`,
      ],
      [touch, `resource.name.startsWith("projects/_/buckets/${bucket}/objects/blobs/")`],
    ]);
    for (const env of s.config.environments) {
      const mine = grants.filter(([id]) => id.includes(`uploader-${env.name}-`));
      expect(mine.length).toBeGreaterThanOrEqual(3);
      for (const [, g] of mine) {
        expect(['roles/storage.objectCreator', 'roles/storage.objectViewer', touch]).toContain(g.role);
        for (const other of s.config.environments.filter((e) => e.name !== env.name)) {
          expect(g.condition.expression).not.toContain(`snapshots/${other.name}/`);
        }
      }
    }
  });

  it('lets impersonators act as the per-environment uploader account (on that account, not the project)', () => {
    const imp = resourcesOf(s.tf, 'google_service_account_iam_member').filter(([, b]) => b.role === 'roles/iam.serviceAccountTokenCreator');
    expect(imp).toHaveLength(1);
    expect(imp[0]?.[1]).toMatchObject({ member: 'group:aqe-developers@example.com', service_account_id: ref('google_service_account', 'uploader-sa-laptop', 'name') });
  });

  it('tags the VM with the tag every firewall rule targets', () => {
    const [, vm] = only(s.tf, 'google_compute_instance');
    const [netId] = only(s.tf, 'google_compute_network');
    const rules = resourcesOf(s.tf, 'google_compute_firewall');
    expect(rules).toHaveLength(3);
    for (const [, r] of rules) {
      expect(r.target_tags).toEqual(vm.tags);
      expect(r.network).toBe(ref('google_compute_network', netId, 'id'));
    }
    const iap = rules.filter(([, r]) => r.allow?.[0]?.ports?.includes('22'));
    expect(iap.map(([, r]) => r.source_ranges)).toEqual([[IAP_SOURCE_RANGE]]);
    expect(iap[0]?.[1].allow).toEqual([{ protocol: 'tcp', ports: ['22', '5432'] }]);
    const conn = rules.filter(([, r]) => r.source_ranges.includes(s.config.network.connectorCidr));
    expect(conn.map(([, r]) => r.allow)).toEqual([[{ protocol: 'tcp', ports: ['5432'] }]]);
    const [, connector] = only(s.tf, 'google_vpc_access_connector');
    expect(connector.ip_cidr_range).toBe(s.config.network.connectorCidr);
  });

  it('grants operators and admins the tunnel and OS Login on this instance only, and serviceAccountUser on the VM SA only', () => {
    const [vmId] = only(s.tf, 'google_compute_instance');
    const tunnels = resourcesOf(s.tf, 'google_iap_tunnel_instance_iam_member').map(([, t]) => t);
    expect(tunnels.map((t) => t.member).sort()).toEqual(['group:aqe-admins@example.com', 'group:aqe-operators@example.com']);
    for (const t of tunnels) expect(t).toMatchObject({ role: 'roles/iap.tunnelResourceAccessor', instance: ref('google_compute_instance', vmId, 'name') });
    const onVm = resourcesOf(s.tf, 'google_compute_instance_iam_member').map(([, g]) => g);
    for (const g of onVm) expect(g.instance_name).toBe(ref('google_compute_instance', vmId, 'name'));
    expect(onVm.filter((g) => g.role === 'roles/compute.osAdminLogin').map((g) => g.member)).toEqual(['group:aqe-admins@example.com']);
    expect(onVm.filter((g) => g.role === 'roles/compute.osLogin').map((g) => g.member)).toEqual(['group:aqe-operators@example.com']);
    expect(resourcesOf(s.tf, 'google_project_iam_member').filter(([, g]) => /osLogin|osAdminLogin|instanceAdmin/.test(g.role))).toEqual([]);
    const saUser = resourcesOf(s.tf, 'google_service_account_iam_member').filter(([, b]) => b.role === 'roles/iam.serviceAccountUser');
    expect([...new Set(saUser.map(([, b]) => b.service_account_id))]).toEqual([expect.stringMatching(/^\$\{google_service_account\.db_sa_\w+\.name\}$/)]);
  });

  it('enables the APIs and orders resources after them', () => {
    const apis = resourcesOf(s.tf, 'google_project_service').map(([, a]) => a.service);
    expect(apis).toEqual(expect.arrayContaining(['compute.googleapis.com', 'secretmanager.googleapis.com', 'cloudfunctions.googleapis.com', 'eventarc.googleapis.com', 'vpcaccess.googleapis.com']));
    const [, vm] = only(s.tf, 'google_compute_instance');
    expect(vm.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^google_project_service\.apis_compute_/)]));
  });

  it('outputs the bucket, the exact tunnel command, the function names and the VM name', () => {
    const c = s.config;
    const n = resourceNames(c);
    expect(s.tf.output.tunnel_command.value).toBe(`gcloud compute start-iap-tunnel ${n.vm} 5432 --local-host-port=localhost:5432 --zone ${c.zone} --project ${c.project}`);
    expect(Object.keys(s.tf.output)).toEqual(expect.arrayContaining(['bucket', 'bucket_url', 'function_names', 'vm_name', 'db_password_secret']));
    expect(Object.keys(s.tf.output.function_names.value)).toEqual(['loadSnapshot', 'reconcile', 'rotateSecret']);
  });

  it('sets AQE_MODEL_DIR only when the model is bundled', () => {
    for (const [, f] of fns()) expect(f.service_config.environment_variables[CONFIG_ENV.modelDir]).toBeUndefined();
    const bundled = synthDeployment(s.config, true);
    const loader = resourcesOf(bundled.tf, 'google_cloudfunctions2_function').find(([, f]) => f.build_config.entry_point === ENTRY_POINTS.loadSnapshot);
    expect(loader?.[1].service_config.environment_variables[CONFIG_ENV.modelDir]).toBe('/workspace/model');
  });
});
