// A database role's password secret: automatic rotation announced on a Pub/Sub topic (its own, or
// one shared with another secret), access granted per identity on the secret itself. No secret
// version here: its data would land in Terraform state.
import type { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project/index.js';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret/index.js';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface DatabaseSecretProps {
  readonly project: string;
  readonly projectData: DataGoogleProject;
  readonly secretId: string;
  /** A topic to create (`topicName`), or the topic of another secret to share (`sharedTopic`). */
  readonly topicName?: string;
  readonly sharedTopic?: { readonly topic: PubsubTopic; readonly publisher: PubsubTopicIamMember };
  readonly rotationPeriod: string;
  readonly nextRotationTime: string;
  readonly labels: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
}

export type SecretAccess = 'read' | 'rotate';

export class DatabaseSecret extends Construct {
  readonly secret: SecretManagerSecret;
  readonly rotationTopic: PubsubTopic;
  /** The Secret Manager service agent's right to publish to the rotation topic. */
  readonly topicPublisher: PubsubTopicIamMember;
  /** `projects/<project id>/secrets/<id>`: what the functions read (latest version). */
  readonly resourceName: string;

  constructor(scope: Construct, id: string, props: DatabaseSecretProps) {
    super(scope, id);
    const { project, dependsOn } = props;

    if (props.sharedTopic) {
      this.rotationTopic = props.sharedTopic.topic;
      this.topicPublisher = props.sharedTopic.publisher;
    } else {
      if (!props.topicName) throw new Error('DatabaseSecret: give topicName or sharedTopic');
      this.rotationTopic = new PubsubTopic(this, 'rotation-topic', {
        project,
        name: props.topicName,
        labels: props.labels,
        messageRetentionDuration: '86400s',
        dependsOn,
      });
      // Secret creation with topics fails unless the Secret Manager service agent can publish.
      this.topicPublisher = new PubsubTopicIamMember(this, 'rotation-topic-agent-publisher', {
        project,
        topic: this.rotationTopic.name,
        role: 'roles/pubsub.publisher',
        member: `serviceAccount:service-${props.projectData.number}@gcp-sa-secretmanager.iam.gserviceaccount.com`,
      });
    }

    this.secret = new SecretManagerSecret(this, 'secret', {
      project,
      secretId: props.secretId,
      labels: props.labels,
      replication: { auto: {} },
      rotation: { rotationPeriod: props.rotationPeriod, nextRotationTime: props.nextRotationTime },
      topics: [{ name: this.rotationTopic.id }],
      // Secret Manager advances next_rotation_time after each rotation: do not fight it.
      lifecycle: { ignoreChanges: ['rotation[0].next_rotation_time'] },
      dependsOn: [this.topicPublisher, ...(dependsOn ?? [])],
    });
    this.resourceName = this.secret.id;
  }

  /**
   * Grants on the secret (not the project). `read`: secretAccessor. `rotate`: read, add versions,
   * and disable old ones (secretVersionManager).
   */
  grant(id: string, member: string, access: SecretAccess): void {
    const roles =
      access === 'read'
        ? ['roles/secretmanager.secretAccessor']
        : ['roles/secretmanager.secretAccessor', 'roles/secretmanager.secretVersionAdder', 'roles/secretmanager.secretVersionManager'];
    for (const role of roles) this.grantRole(`${id}-${role.split('.')[1]}`, member, role);
  }

  /** Any role, on this secret only. */
  grantRole(id: string, member: string, role: string): SecretManagerSecretIamMember {
    return new SecretManagerSecretIamMember(this, id, { project: this.secret.project, secretId: this.secret.secretId, role, member });
  }
}
