// The functions' deployable source: one zip of the staged package (compiled dist/ + package
// files), uploaded under its content hash to a private bucket, plus the build service account with
// the roles documented for a custom Cloud Functions build account, each as narrow as it can be.
import type { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object/index.js';
import { AssetType, type ITerraformDependable, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import type { FunctionImageRepository } from './artifact-repositories.js';

export interface FunctionSourceProps {
  readonly project: string;
  readonly location: string;
  readonly bucketName: string;
  readonly buildServiceAccountId: string;
  /** A staged folder: dist/functions, dist/schema, package.json, package-lock.json. */
  readonly stagedDir: string;
  /** Where the builds push the functions' images (the build account may write there only). */
  readonly images: FunctionImageRepository;
  readonly projectData: DataGoogleProject;
  readonly labels: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
}

export class FunctionSource extends Construct {
  readonly bucket: StorageBucket;
  readonly object: StorageBucketObject;
  /** Runs Cloud Build for the functions (instead of the default compute service account). */
  readonly buildServiceAccount: ServiceAccount;

  constructor(scope: Construct, id: string, props: FunctionSourceProps) {
    super(scope, id);
    const { project } = props;
    this.bucket = new StorageBucket(this, 'bucket', {
      project,
      name: props.bucketName,
      location: props.location,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      versioning: { enabled: true },
      forceDestroy: true,
      labels: props.labels,
      lifecycleRule: [{ action: { type: 'Delete' }, condition: { daysSinceNoncurrentTime: 7, withState: 'ARCHIVED' } }],
      dependsOn: props.dependsOn,
    });

    const asset = new TerraformAsset(this, 'asset', { path: props.stagedDir, type: AssetType.ARCHIVE });
    // The name changes with the content, which changes storage_source.object and redeploys.
    this.object = new StorageBucketObject(this, 'object', {
      bucket: this.bucket.name,
      name: `functions/source-${asset.assetHash}.zip`,
      source: asset.path,
      contentType: 'application/zip',
    });

    this.buildServiceAccount = new ServiceAccount(this, 'build-sa', {
      project,
      accountId: props.buildServiceAccountId,
      displayName: 'aqe function builds',
      description: 'Cloud Build for the Cloud Functions: reads the source zip, pushes the image, writes build logs',
      dependsOn: props.dependsOn,
    });
    // The set documented for a custom Cloud Functions build service account, each confined:
    // build logs (project), images (our repository only), and the source objects: ours, and the
    // gcf-v2-sources/uploads buckets Cloud Functions copies a deploy's source into.
    new ProjectIamMember(this, 'build-logWriter', { project, role: 'roles/logging.logWriter', member: this.buildServiceAccount.member });
    props.images.grant('build-image-writer', this.buildServiceAccount.member, 'roles/artifactregistry.writer');
    const buckets = ['gcf-v2-sources-', 'gcf-v2-uploads-'].map((p) => `resource.name.startsWith("projects/_/buckets/${p}${props.projectData.number}-")`);
    new ProjectIamMember(this, 'build-source-objects', {
      project,
      role: 'roles/storage.objectAdmin',
      member: this.buildServiceAccount.member,
      condition: {
        title: 'function-build-sources',
        description: 'Only the function source buckets (ours and the gcf-v2 ones Cloud Functions manages)',
        expression: [...buckets, `resource.name == "projects/_/buckets/${props.bucketName}"`, `resource.name.startsWith("projects/_/buckets/${props.bucketName}/")`].join(' || '),
      },
    });
    // Cloud Functions and Cloud Run pull the built image with their service agents.
    for (const [agent, domain] of [
      ['gcf-agent', 'gcf-admin-robot'],
      ['run-agent', 'serverless-robot-prod'],
    ] as const) {
      props.images.grant(`${agent}-image-reader`, `serviceAccount:service-${props.projectData.number}@${domain}.iam.gserviceaccount.com`, 'roles/artifactregistry.reader');
    }
  }
}
