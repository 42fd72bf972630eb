// The database VM's boot, rehearsed where it goes wrong: a disk the probe cannot identify is never
// formatted, a secret without a version holds the boot instead of failing it, and the container
// line of the first round (POSTGRES_PASSWORD baked into the image beside our _FILE) is shown to do
// what it did: exit at every start while systemd restarts it forever.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VM_PATHS, VM_UNITS } from '../../infra/constructs/database-cloud-config.js';
import { type GoogleApisStandin, startGoogleApisStandin } from './support/google-apis-standin.js';
import { type RehearsalStack, synthesizeRehearsalStack } from './support/rehearsal-stack.js';
import { createVmNetwork, type VmNetwork, VmSandbox } from './support/vm-sandbox.js';

let network: VmNetwork;
let stack: RehearsalStack;
let apis: GoogleApisStandin;
let registry: string;
let vm: VmSandbox | undefined;
const syncSecret = () => `projects/${stack.project}/secrets/aqe-db-password`;
const readerSecret = () => `projects/${stack.project}/secrets/aqe-db-reader-password`;

beforeAll(async () => {
  network = createVmNetwork();
  stack = synthesizeRehearsalStack({ computed: { 'google_compute_address.address': network.vmIp } });
  apis = await startGoogleApisStandin({ project: stack.project, zone: 'europe-west1-b', host: network.hostIp });
  const [, mirror] = stack.resources('google_artifact_registry_repository').find(([, r]) => r.mode === 'REMOTE_REPOSITORY')!;
  registry = `${mirror.location}-docker.pkg.dev/${stack.project}/${mirror.repository_id}`;
}, 120_000);

afterEach(async () => {
  await vm?.poweroff();
  vm?.cleanup();
  vm = undefined;
});

afterAll(async () => {
  await apis?.close();
  network?.destroy();
  stack?.cleanup();
});

const sandbox = (files = stack.cloudInit.files) => new VmSandbox({ network, files, runcmd: stack.cloudInit.runcmd, googleApis: apis.httpUrl, registry });

describe.sequential('database VM boot faults', () => {
  it('never formats or mounts a disk the low-level probe cannot identify (blkid -p exit 8): the disk unit fails and Postgres does not start', async () => {
    await apis.addRandomVersion(syncSecret());
    await apis.addRandomVersion(readerSecret());
    vm = sandbox();
    await vm.boot({ SANDBOX_BLKID_EXIT: '8' });
    await vm.waitForUnit(VM_UNITS.dataDisk, ['failed'], 60_000);
    await vm.waitForUnit(VM_UNITS.postgres, ['failed'], 60_000);
    const calls = vm.calls();
    expect(calls.filter((c) => c.tool === 'mkfs.ext4')).toEqual([]);
    expect(calls.filter((c) => c.tool === 'mount')).toEqual([]);
    expect(calls.filter((c) => c.tool === 'docker' && c.argv[0] === 'run')).toEqual([]);
    expect(vm.journalText(VM_UNITS.dataDisk)).toContain('refusing to format or mount a disk it cannot identify');
  }, 120_000);

  it('formats a blank disk once and mounts the populated one as is on the next boot', async () => {
    vm = sandbox();
    await vm.boot();
    await vm.waitForUnit(VM_UNITS.dataDisk, ['active'], 60_000);
    await vm.poweroff();
    await vm.boot();
    await vm.waitForUnit(VM_UNITS.dataDisk, ['active'], 60_000);
    expect(vm.calls().filter((c) => c.tool === 'mkfs.ext4')).toHaveLength(1);
    expect(vm.calls().filter((c) => c.tool === 'mount')).toHaveLength(2);
    expect(vm.journalText(VM_UNITS.dataDisk)).toContain('holds a filesystem: mounting it as is');
  }, 180_000);

  it('holds the boot until the first secret versions exist (DEPLOY.md §5), then starts', async () => {
    const other = `projects/${stack.project}/secrets/aqe-db-reader-password-none`;
    // a secret with no version yet: the boot unit waits and says why, without the value of anything
    const files = stack.cloudInit.files.map((f) => (f.path.endsWith('fetch-db-secrets.sh') ? { ...f, content: f.content.replaceAll('aqe-db-reader-password', 'aqe-db-reader-password-none') } : f));
    vm = sandbox(files);
    await vm.boot();
    const deadline = Date.now() + 60_000;
    while (!vm.journalText(VM_UNITS.secrets).includes('retrying in 30s') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(vm.journalText(VM_UNITS.secrets)).toContain('cannot read aqe-db-password and aqe-db-reader-password-none yet');
    expect(vm.units()[VM_UNITS.postgres]?.state ?? 'inactive').not.toBe('active');
    await apis.addRandomVersion(other);
    await vm.waitForUnit(VM_UNITS.bootstrap, ['active'], 150_000);
    expect(vm.exec(['stat', '-c', '%a', `${VM_PATHS.runDir}/reader-password`]).stdout.trim()).toBe('600');
  }, 240_000);

  it('reproduces the first round\u2019s crash loop: without POSTGRES_PASSWORD= the entrypoint exits at every start and systemd restarts it', async () => {
    const unit = `/etc/systemd/system/${VM_UNITS.postgres}`;
    const files = stack.cloudInit.files.map((f) => (f.path === unit ? { ...f, content: f.content.replace(/ \\\n\s+-e POSTGRES_PASSWORD= /, ' ') } : f));
    expect(files.find((f) => f.path === unit)!.content).not.toContain('POSTGRES_PASSWORD= ');
    vm = sandbox(files);
    await vm.boot();
    const deadline = Date.now() + 90_000;
    while ((vm.units()[VM_UNITS.postgres]?.restarts ?? 0) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(vm.units()[VM_UNITS.postgres]?.restarts).toBeGreaterThanOrEqual(3);
    expect(vm.journalText(VM_UNITS.postgres)).toContain('error: both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set (but are exclusive)');
    expect(vm.units()[VM_UNITS.bootstrap]?.state).not.toBe('active');
  }, 150_000);
});
