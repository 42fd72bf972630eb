// The synthesized stack is wired the way the design says: functions reach the DB through the
// connector, events come from our bucket and topic, and every grant names an identity we created.
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV, ENTRY_POINTS } from '../../functions/entry-points.js';
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

  it('triggers loadSnapshot on object finalize in our bucket, with its own trigger service account', () => {
    const [, f] = fnNamed(resourceNames(s.config).functions.loadSnapshot);
    const [bucketId] = resourcesOf(s.tf, 'google_storage_bucket').find(([, b]) => b.name === resourceNames(s.config).bucket) ?? [];
    expect(f.event_trigger.event_type).toBe('google.cloud.storage.object.v1.finalized');
    expect(f.event_trigger.event_filters).toEqual([{ attribute: 'bucket', value: ref('google_storage_bucket', bucketId as string, 'name') }]);
    expect(f.event_trigger.trigger_region).toBe(s.config.region);
    expect(f.event_trigger.service_account_email).toMatch(/^\$\{google_service_account\.load-snapshot_trigger-sa_\w+\.email\}$/);
    expect(f.event_trigger.service_account_email).not.toBe(f.service_config.service_account_email);
    expect(f.depends_on).toContain('google_project_iam_member.gcs-agent-pubsub-publisher');
  });

  it('gives the trigger SA eventReceiver and run.invoker on that function only, and the GCS agent pubsub.publisher', () => {
    const trigger = '${google_service_account.load-snapshot_trigger-sa_';
    const projectRoles = resourcesOf(s.tf, 'google_project_iam_member').filter(([, b]) => String(b.member).startsWith(trigger));
    expect(projectRoles.map(([, b]) => b.role)).toEqual(['roles/eventarc.eventReceiver']);
    const invokers = resourcesOf(s.tf, 'google_cloud_run_v2_service_iam_member').filter(([, b]) => String(b.member).startsWith(trigger));
    expect(invokers).toHaveLength(1);
    expect(invokers[0]?.[1]).toMatchObject({ role: 'roles/run.invoker', name: expect.stringMatching(/^\$\{google_cloudfunctions2_function\.load-snapshot_function_\w+\.name\}$/) });
    const gcs = s.tf.resource.google_project_iam_member['gcs-agent-pubsub-publisher'];
    expect(gcs).toMatchObject({ role: 'roles/pubsub.publisher', member: `serviceAccount:${ref('data.google_storage_project_service_account', 'gcs-agent', 'email_address')}` });
  });

  it('triggers rotateSecret on the rotation topic', () => {
    const [, f] = fnNamed(resourceNames(s.config).functions.rotateSecret);
    const [topicId] = only(s.tf, 'google_pubsub_topic');
    expect(f.event_trigger.event_type).toBe('google.cloud.pubsub.topic.v1.messagePublished');
    expect(f.event_trigger.pubsub_topic).toBe(ref('google_pubsub_topic', topicId, 'id'));
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

  it('passes config (DB host = VM internal IP, secret resource name, bucket) to the functions, never a secret value', () => {
    const [vmId] = only(s.tf, 'google_compute_instance');
    const [secretId] = only(s.tf, 'google_secret_manager_secret');
    const [, loader] = fnNamed(resourceNames(s.config).functions.loadSnapshot);
    const env = loader.service_config.environment_variables as Record<string, string>;
    expect(env[CONFIG_ENV.dbHost]).toBe(ref('google_compute_instance', vmId, 'network_interface[0].network_ip'));
    expect(env[CONFIG_ENV.dbPasswordSecret]).toBe(ref('google_secret_manager_secret', secretId, 'id'));
    expect(env[CONFIG_ENV.bucket]).toMatch(/^\$\{google_storage_bucket\.snapshots_bucket_\w+\.name\}$/);
    expect(env[CONFIG_ENV.dbPort]).toBe('5432');
    const known = new Set<string>(Object.values(CONFIG_ENV));
    for (const [, f] of fns()) {
      expect(f.service_config.secret_environment_variables).toBeUndefined();
      for (const k of Object.keys(f.service_config.environment_variables)) expect(known).toContain(k);
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
    const [topicId] = only(s.tf, 'google_pubsub_topic');
    const [, secret] = only(s.tf, 'google_secret_manager_secret');
    expect(secret.topics).toEqual([{ name: ref('google_pubsub_topic', topicId, 'id') }]);
    const [agentId, agent] = only(s.tf, 'google_pubsub_topic_iam_member');
    expect(agent).toMatchObject({
      role: 'roles/pubsub.publisher',
      topic: ref('google_pubsub_topic', topicId, 'name'),
      member: `serviceAccount:service-${ref('data.google_project', 'project', 'number')}@gcp-sa-secretmanager.iam.gserviceaccount.com`,
    });
    expect(secret.depends_on).toContain(`google_pubsub_topic_iam_member.${agentId}`);
    expect(secret.lifecycle.ignore_changes).toEqual(['rotation[0].next_rotation_time']);
  });

  it('grants secret access on the secret, per identity, least privilege', () => {
    const bySa = new Map<string, string[]>();
    for (const [, g] of resourcesOf(s.tf, 'google_secret_manager_secret_iam_member')) {
      const sa = /google_service_account\.([\w-]+?)_sa_/.exec(g.member)?.[1] ?? g.member;
      bySa.set(sa, [...(bySa.get(sa) ?? []), g.role].sort());
    }
    expect(Object.fromEntries(bySa)).toEqual({
      db: ['roles/secretmanager.secretAccessor'],
      'group:aqe-operators@example.com': ['roles/secretmanager.secretAccessor'],
      'load-snapshot': ['roles/secretmanager.secretAccessor'],
      reconcile: ['roles/secretmanager.secretAccessor'],
      'rotate-secret': ['roles/secretmanager.secretAccessor', 'roles/secretmanager.secretVersionAdder', 'roles/secretmanager.secretVersionManager'],
    });
    expect(resourcesOf(s.tf, 'google_project_iam_member').filter(([, b]) => String(b.role).startsWith('roles/secretmanager'))).toEqual([]);
  });

  it('lets operators read the password only when configured', () => {
    const off = synthDeployment({ ...s.config, operatorsReadPassword: false });
    const members = resourcesOf(off.tf, 'google_secret_manager_secret_iam_member').map(([, g]) => g.member);
    expect(members.filter((m) => String(m).startsWith('group:'))).toEqual([]);
  });

  it('binds every IAM grant to a service account we created, a configured member, or a Google service agent', () => {
    const ours = saRefs();
    const configured = new Set([
      ...s.config.operators,
      ...s.config.environments.flatMap((e) => [...e.uploaders, ...e.impersonators]),
    ]);
    const iamTypes = Object.keys(s.tf.resource).filter((t) => t.endsWith('_iam_member'));
    expect(iamTypes.length).toBeGreaterThan(5);
    for (const t of iamTypes) {
      for (const [id, b] of resourcesOf(s.tf, t)) {
        const m = String(b.member);
        const ok = ours.has(m) || configured.has(m) || /gcp-sa-secretmanager|google_storage_project_service_account/.test(m);
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

  it('grants operators the tunnel on this instance only, OS Login, and serviceAccountUser on the VM SA only', () => {
    const [vmId] = only(s.tf, 'google_compute_instance');
    const [, tunnel] = only(s.tf, 'google_iap_tunnel_instance_iam_member');
    expect(tunnel).toMatchObject({ role: 'roles/iap.tunnelResourceAccessor', member: 'group:aqe-operators@example.com', instance: ref('google_compute_instance', vmId, 'name') });
    const saUser = resourcesOf(s.tf, 'google_service_account_iam_member').filter(([, b]) => b.role === 'roles/iam.serviceAccountUser');
    expect(saUser.map(([, b]) => b.service_account_id)).toEqual([expect.stringMatching(/^\$\{google_service_account\.db_sa_\w+\.name\}$/)]);
  });

  it('alerts on function errors (rate-limited), failed loads, missing syncs per environment, and the VM going down', () => {
    const policies = resourcesOf(s.tf, 'google_monitoring_alert_policy').map(([, p]) => p);
    const [channelId] = only(s.tf, 'google_monitoring_notification_channel');
    for (const p of policies) expect(p.notification_channels).toEqual([ref('google_monitoring_notification_channel', channelId, 'id')]);
    const logMatch = policies.filter((p) => p.conditions[0].condition_matched_log);
    expect(logMatch).toHaveLength(1);
    expect(logMatch[0]?.alert_strategy.notification_rate_limit.period).toBe('300s');
    expect(logMatch[0]?.conditions[0].condition_matched_log.filter).toContain('severity>=ERROR');
    const metricIds = resourcesOf(s.tf, 'google_logging_metric').map(([id]) => id);
    const [succeededId, failedId] = [metricIds.find((i) => i.includes('succeeded')), metricIds.find((i) => i.includes('failed'))];
    const absent = policies.filter((p) => p.conditions[0].condition_absent?.filter.includes(`logging.googleapis.com/user/\${google_logging_metric.${succeededId}.name}`));
    expect(absent.map((p) => p.conditions[0].condition_absent.duration)).toEqual(s.config.environments.map(() => '84600s'));
    for (const env of s.config.environments) expect(absent.some((p) => p.conditions[0].condition_absent.filter.includes(`metric.label.env="${env.name}"`))).toBe(true);
    const failed = policies.filter((p) => p.conditions[0].condition_threshold?.filter.includes(`google_logging_metric.${failedId}.name`));
    expect(failed).toHaveLength(1);
    const vmDown = policies.filter((p) => p.conditions[0].condition_absent?.filter.includes('compute.googleapis.com/instance/uptime'));
    expect(vmDown).toHaveLength(1);
    const metrics = resourcesOf(s.tf, 'google_logging_metric').map(([, m]) => m);
    expect(metrics.map((m) => /jsonPayload\.event="(\w+)"/.exec(m.filter)?.[1]).sort()).toEqual(['sync_failed', 'sync_succeeded']);
    for (const m of metrics) expect(m.label_extractors).toEqual({ env: 'EXTRACT(jsonPayload.env)' });
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
