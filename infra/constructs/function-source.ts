// The functions' deployable source: one zip of the staged package (compiled dist/ + package
// files), uploaded under its content hash to a private bucket, plus the build service account.
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object/index.js';
import { AssetType, type ITerraformDependable, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';

export interface FunctionSourceProps {
  readonly project: string;
  readonly location: string;
  readonly bucketName: string;
  readonly buildServiceAccountId: string;
  /** A staged folder: dist/functions, dist/schema, package.json, package-lock.json. */
  readonly stagedDir: string;
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
    // The minimal set documented for a custom Cloud Functions build service account.
    for (const role of ['roles/logging.logWriter', 'roles/artifactregistry.writer']) {
      new ProjectIamMember(this, `build-${role.split('/')[1]}`, { project, role, member: this.buildServiceAccount.member });
    }
    new StorageBucketIamMember(this, 'build-source-reader', {
      bucket: this.bucket.name,
      role: 'roles/storage.objectViewer',
      member: this.buildServiceAccount.member,
    });
  }
}
