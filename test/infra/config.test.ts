// Deployment config: the example is valid, defaults are sensible, and every problem is reported at once.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cidrsOverlap,
  DeploymentConfigError,
  deploymentFiles,
  loadDeploymentConfigFile,
  parseDeploymentConfig,
  resourceNames,
} from '../../infra/config.js';
import { EXAMPLE_CONFIG_FILE, REPO_ROOT } from './synth-support.js';

const minimal = {
  name: 'prod',
  project: 'my-aqe-project',
  region: 'europe-west1',
  zone: 'europe-west1-b',
  database: { image: 'ruvnet/ruvector-postgres:2.0.5' },
  secret: { nextRotationTime: '2027-01-01T00:00:00Z' },
  environments: [{ name: 'ci', uploaders: ['serviceAccount:ci@my-aqe-project.iam.gserviceaccount.com'] }],
};

describe('deployment config', () => {
  it('loads the committed example, naming it after the file', () => {
    const c = loadDeploymentConfigFile(EXAMPLE_CONFIG_FILE);
    expect(c.name).toBe('example');
    expect(resourceNames(c).stack).toBe('aqe-example');
    expect(c.environments.map((e) => e.name)).toEqual(['laptop', 'devpod', 'ci']);
  });

  it('fills defaults for a minimal deployment (e2-medium, 20 GB pd-balanced, 30-day rotation, local state)', () => {
    const r = parseDeploymentConfig(minimal);
    if (!r.ok) throw new Error(r.issues.join('\n'));
    expect(r.config.database).toMatchObject({ machineType: 'e2-medium', dataDiskSizeGb: 20, dataDiskType: 'pd-balanced', snapshotRetentionDays: 14 });
    expect(r.config.secret.rotationPeriod).toBe('2592000s');
    expect(r.config.database).toMatchObject({ adminUser: 'aqe_admin', dbUser: 'aqe_sync', readerUser: 'aqe_reader' });
    expect(r.config.backend).toEqual({ type: 'local' });
    expect(r.config.schedules.reconcile).toEqual([{ id: 'hourly', schedule: '7 * * * *', body: {} }]);
    expect(resourceNames(r.config).bucket).toBe('my-aqe-project-aqe-snapshots');
  });

  it('refuses user: operators and uploaders, naming the field and the fix', () => {
    const r = parseDeploymentConfig({
      ...minimal,
      operators: ['user:alice@example.com'],
      environments: [{ name: 'laptop', uploaders: ['user:alice@example.com'] }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      expect.stringMatching(/^environments\.0\.uploaders\.0: expected "serviceAccount:<email>".*"user:" and "group:" are refused/),
      expect.stringMatching(/^operators\.0: expected "group:<email>" or "serviceAccount:<email>"; individual "user:" members are refused/),
    ]);
  });

  it('refuses one role for two purposes, and the image\'s own roles', () => {
    const r = parseDeploymentConfig({ ...minimal, database: { ...minimal.database, dbUser: 'aqe_admin', readerUser: 'ruvector' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^database\.dbUser: "aqe_admin" is also database\.adminUser/),
        expect.stringMatching(/^database\.readerUser: "ruvector" is a role of the image itself/),
      ]),
    );
  });

  it('reports every problem at once', () => {
    const r = parseDeploymentConfig({
      ...minimal,
      zone: 'us-central1-a',
      database: { image: 'ruvnet/ruvector-postgres:latest', dataDiskSizeGb: 5 },
      secret: { nextRotationTime: 'tomorrow', rotationPeriod: '60s' },
      network: { connectorCidr: '10.10.0.16/28' },
      alerts: { emails: ['not-an-email'] },
      environments: [
        { name: 'ci', uploaders: [] },
        { name: 'ci', uploaders: ['serviceAccount:x@y.iam.gserviceaccount.com'] },
      ],
      surprise: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const fields = r.issues.map((i) => i.split(':')[0]);
    expect(fields).toEqual(
      expect.arrayContaining([
        '(root)',
        'database.image',
        'database.dataDiskSizeGb',
        'secret.rotationPeriod',
        'secret.nextRotationTime',
        'alerts.emails.0',
      ]),
    );
    expect(r.issues.join('\n')).toMatch(/surprise/);
  });

  it('checks cross-field rules (zone in region, connector range outside the subnet, unique environments)', () => {
    const r = parseDeploymentConfig({
      ...minimal,
      zone: 'us-central1-a',
      network: { connectorCidr: '10.10.0.16/28' },
      environments: [
        { name: 'ci', uploaders: [] },
        { name: 'ci', uploaders: ['serviceAccount:x@y.iam.gserviceaccount.com'] },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual(
      expect.arrayContaining([
        'zone: zone us-central1-a is not in region europe-west1',
        'network.connectorCidr: 10.8.0.0/28 overlaps the subnet 10.10.0.0/24'.replace('10.8.0.0/28', '10.10.0.16/28'),
        'environments.1.name: duplicate environment "ci"',
        'environments.0: environment "ci" has no uploaders and no impersonators: nobody could push',
      ]),
    );
  });

  it('accepts images pinned by digest and refuses unpinned ones', () => {
    const digest = `ruvnet/ruvector-postgres@sha256:${'a'.repeat(64)}`;
    expect(parseDeploymentConfig({ ...minimal, database: { image: digest } }).ok).toBe(true);
    expect(parseDeploymentConfig({ ...minimal, database: { image: `ruvnet/ruvector-postgres:2.0.5@sha256:${'b'.repeat(64)}` } }).ok).toBe(true);
    expect(parseDeploymentConfig({ ...minimal, database: { image: 'ruvnet/ruvector-postgres:latest' } }).ok).toBe(false);
  });

  it('detects overlapping CIDRs', () => {
    expect(cidrsOverlap('10.10.0.0/24', '10.10.0.16/28')).toBe(true);
    expect(cidrsOverlap('10.10.0.0/24', '10.8.0.0/28')).toBe(false);
    expect(cidrsOverlap('10.8.0.0/28', '10.8.0.16/28')).toBe(false);
  });

  it('throws one error listing every problem of a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aqe-cfg-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ project: 'x' }));
    expect(() => loadDeploymentConfigFile(file)).toThrow(DeploymentConfigError);
    try {
      loadDeploymentConfigFile(file);
    } catch (e) {
      const err = e as DeploymentConfigError;
      expect(err.message).toContain(file);
      expect(err.issues.length).toBeGreaterThanOrEqual(5);
    }
  });

  it('picks deployment files from AQE_DEPLOYMENT_CONFIG, AQE_DEPLOYMENT, or every file in infra/deployments', () => {
    expect(deploymentFiles(REPO_ROOT, { AQE_DEPLOYMENT_CONFIG: 'x/y.json' })).toEqual([join(REPO_ROOT, 'x/y.json')]);
    expect(deploymentFiles(REPO_ROOT, { AQE_DEPLOYMENT: 'example' })).toEqual([EXAMPLE_CONFIG_FILE]);
    expect(deploymentFiles(REPO_ROOT, {})).toContain(EXAMPLE_CONFIG_FILE);
  });

  it('keeps derived names within GCP limits (service-account ids 6-30, connector name <= 25)', () => {
    const r = parseDeploymentConfig({
      ...minimal,
      namePrefix: 'aqe-prod01',
      environments: [{ name: 'abcdefghijkl', uploaders: ['serviceAccount:x@y.iam.gserviceaccount.com'] }],
    });
    if (!r.ok) throw new Error(r.issues.join('\n'));
    const n = resourceNames(r.config);
    const ids = [n.sa.vm, n.sa.build, n.sa.loadSnapshot, n.sa.reconcile, n.sa.rotateSecret, n.sa.scheduler, n.sa.uploader('abcdefghijkl'), n.sa.trigger('load'), n.sa.trigger('rotate')];
    for (const id of ids) expect(id).toMatch(/^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/);
    expect(n.connector.length).toBeLessThanOrEqual(25);
    expect(n.bucket.length).toBeLessThanOrEqual(63);
  });
});
