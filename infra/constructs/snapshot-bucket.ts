// The snapshot bucket: private (uniform access, public access prevention), versioned, with
// lifecycle rules per prefix, and IAM Conditions that confine each uploader to its own prefixes.
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import { StorageNotification } from '@cdktf/provider-google/lib/storage-notification/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

/** Bucket layout (same as schema/snapshot/object-keys.ts; a test keeps them in step). */
export const BUCKET_PREFIXES = {
  blobs: 'blobs/',
  snapshots: 'snapshots/',
  quarantine: 'quarantine/',
} as const;

export interface SnapshotBucketProps {
  readonly project: string;
  readonly name: string;
  readonly location: string;
  readonly manifestRetentionDays: number;
  readonly quarantineDays: number;
  readonly noncurrentVersionDays: number;
  readonly labels: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
}

/** `projects/_/buckets/<bucket>/objects/<prefix>`: what IAM Conditions see as resource.name. */
export function objectResourcePrefix(bucket: string, prefix: string): string {
  return `projects/_/buckets/${bucket}/objects/${prefix}`;
}

export class SnapshotBucket extends Construct {
  readonly bucket: StorageBucket;

  constructor(scope: Construct, id: string, props: SnapshotBucketProps) {
    super(scope, id);
    this.bucket = new StorageBucket(this, 'bucket', {
      project: props.project,
      name: props.name,
      location: props.location,
      storageClass: 'STANDARD',
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      versioning: { enabled: true },
      forceDestroy: false,
      labels: props.labels,
      lifecycleRule: [
        // Deleted or replaced objects stay recoverable for a while, then go.
        { action: { type: 'Delete' }, condition: { daysSinceNoncurrentTime: props.noncurrentVersionDays, withState: 'ARCHIVED' } },
        { action: { type: 'Delete' }, condition: { matchesPrefix: [BUCKET_PREFIXES.quarantine], age: props.quarantineDays } },
        // Manifests age out after the retention period. blobs/ has NO age rule on purpose: a blob
        // lives as long as any retained manifest references it; reconcile deletes unreferenced
        // blobs older than its safety window (an upload writes blobs before its manifest).
        { action: { type: 'Delete' }, condition: { matchesPrefix: [BUCKET_PREFIXES.snapshots], age: props.manifestRetentionDays } },
        { action: { type: 'AbortIncompleteMultipartUpload' }, condition: { age: 1 } },
      ],
      dependsOn: props.dependsOn,
    });
  }

  /**
   * A Pub/Sub topic that hears of finalized objects under snapshots/ only: manifests. Blobs,
   * quarantine copies and anything else never wake the loader. The Cloud Storage service agent
   * may publish to this topic only.
   */
  notifyManifests(props: { topicName: string; gcsAgentEmail: string; labels: Record<string, string>; dependsOn?: ITerraformDependable[] }): PubsubTopic {
    const topic = new PubsubTopic(this, 'manifest-topic', {
      project: this.bucket.project,
      name: props.topicName,
      labels: props.labels,
      messageRetentionDuration: '604800s',
      dependsOn: props.dependsOn,
    });
    const publisher = new PubsubTopicIamMember(this, 'manifest-topic-gcs-publisher', {
      project: this.bucket.project,
      topic: topic.name,
      role: 'roles/pubsub.publisher',
      member: `serviceAccount:${props.gcsAgentEmail}`,
    });
    new StorageNotification(this, 'manifest-notification', {
      bucket: this.bucket.name,
      topic: topic.id,
      payloadFormat: 'JSON_API_V1',
      eventTypes: ['OBJECT_FINALIZE'],
      objectNamePrefix: BUCKET_PREFIXES.snapshots,
      dependsOn: [publisher],
    });
    return topic;
  }

  /** Objects under the given prefixes only: an IAM Condition expression. */
  prefixCondition(prefixes: readonly string[]): string {
    return prefixes.map((p) => `resource.name.startsWith("${objectResourcePrefix(this.bucket.name, p)}")`).join(' || ');
  }

  /**
   * Bucket-level grant, optionally confined to object prefixes by an IAM Condition. `listPrefixes`
   * also allows storage.objects.list for list requests whose prefix starts with one of them (the
   * objectListPrefix attribute: a list request names the bucket, not an object).
   */
  grant(id: string, member: string, role: string, onlyPrefixes?: { title: string; prefixes: readonly string[]; listPrefixes?: readonly string[] }): StorageBucketIamMember {
    const list = (onlyPrefixes?.listPrefixes ?? []).map((p) => `api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("${p}")`);
    return new StorageBucketIamMember(this, id, {
      bucket: this.bucket.name,
      role,
      member,
      condition: onlyPrefixes
        ? {
            title: onlyPrefixes.title,
            description: `Only objects under ${onlyPrefixes.prefixes.join(', ')}${list.length > 0 ? `; lists under ${onlyPrefixes.listPrefixes!.join(', ')}` : ''}`,
            expression: [this.prefixCondition(onlyPrefixes.prefixes), ...list].join(' || '),
          }
        : undefined,
    });
  }

  /**
   * An uploader for one environment may create objects under snapshots/<env>/ and blobs/ only,
   * read blobs/ (the "already stored?" check that makes an unchanged push upload nothing), and
   * read and list its own snapshots/<env>/ (`--skip-unchanged` compares with the latest manifest).
   * No delete or overwrite: objectCreator cannot replace an existing object. `toucherRole` (a
   * custom role holding storage.objects.update only) lets it touch a blob it reuses, on blobs/
   * only: a metadata patch that moves the blob's `updated` time so retention spares it.
   */
  grantUploader(id: string, member: string, env: string, toucherRole: string): void {
    this.grant(`${id}-create`, member, 'roles/storage.objectCreator', {
      title: `uploader-${env}-create`,
      prefixes: [`${BUCKET_PREFIXES.snapshots}${env}/`, BUCKET_PREFIXES.blobs],
    });
    this.grant(`${id}-read-blobs`, member, 'roles/storage.objectViewer', {
      title: `uploader-${env}-read-blobs`,
      prefixes: [BUCKET_PREFIXES.blobs, `${BUCKET_PREFIXES.snapshots}${env}/`],
      listPrefixes: [`${BUCKET_PREFIXES.snapshots}${env}/`],
    });
    this.grant(`${id}-touch-blobs`, member, toucherRole, {
      title: `uploader-${env}-touch-blobs`,
      prefixes: [BUCKET_PREFIXES.blobs],
    });
  }
}
