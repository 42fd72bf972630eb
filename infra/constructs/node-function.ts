// One gen-2 Cloud Function on nodejs22: its own runtime service account, the VPC connector for
// private egress, internal-only ingress, and (for event functions) an Eventarc trigger with its own
// trigger service account allowed to invoke only this function.
import { Cloudfunctions2Function, type Cloudfunctions2FunctionEventTrigger } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object/index.js';
import type { VpcAccessConnector } from '@cdktf/provider-google/lib/vpc-access-connector/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

/** The only runtime we deploy (nodejs20 is decommissioned). */
export const FUNCTION_RUNTIME = 'nodejs22';

/**
 * Environment of the Cloud Build that installs the function source (`npm ci`, install scripts
 * included). The staged package carries no .npmrc, so the CUDA skip must be here: without it
 * onnxruntime-node's install script downloads ~300 MB of CUDA binaries into every image.
 */
export const FUNCTION_BUILD_ENV = { ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' } as const;

export type FunctionTrigger =
  | { readonly kind: 'http' }
  | {
      readonly kind: 'event';
      readonly eventType: string;
      readonly triggerRegion: string;
      readonly eventFilters?: ReadonlyArray<{ attribute: string; value: string }>;
      readonly pubsubTopic?: string;
      readonly triggerServiceAccountId: string;
    };

export interface NodeFunctionProps {
  readonly project: string;
  readonly region: string;
  readonly name: string;
  readonly description: string;
  readonly entryPoint: string;
  readonly source: StorageBucketObject;
  readonly buildServiceAccount: ServiceAccount;
  /** Artifact Registry repository (resource id) the build pushes the image to. */
  readonly dockerRepository: string;
  readonly serviceAccountId: string;
  readonly connector: VpcAccessConnector;
  readonly environment: Record<string, string>;
  readonly trigger: FunctionTrigger;
  readonly memory?: string;
  readonly cpu?: string;
  readonly timeoutSeconds?: number;
  readonly maxInstances?: number;
  /** Defaults to ALLOW_INTERNAL_ONLY. */
  readonly ingress?: 'ALLOW_INTERNAL_ONLY' | 'ALLOW_ALL';
  readonly labels: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
}

export class NodeFunction extends Construct {
  readonly function: Cloudfunctions2Function;
  /** The runtime identity: grant it exactly what this function does. */
  readonly serviceAccount: ServiceAccount;
  /** Set for event functions: the identity Eventarc uses to invoke this function. */
  readonly triggerServiceAccount: ServiceAccount | undefined;
  /** HTTPS endpoint of the underlying Cloud Run service (also the OIDC audience). */
  readonly uri: string;
  private readonly props: NodeFunctionProps;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    this.props = props;
    const { project, region, trigger } = props;

    this.serviceAccount = new ServiceAccount(this, 'sa', {
      project,
      accountId: props.serviceAccountId,
      displayName: `aqe ${props.name} runtime`,
      description: props.description,
      dependsOn: props.dependsOn,
    });

    let eventTrigger: Cloudfunctions2FunctionEventTrigger | undefined;
    const triggerDeps: ITerraformDependable[] = [];
    if (trigger.kind === 'event') {
      this.triggerServiceAccount = new ServiceAccount(this, 'trigger-sa', {
        project,
        accountId: trigger.triggerServiceAccountId,
        displayName: `aqe ${props.name} trigger`,
        description: `Eventarc delivers ${trigger.eventType} events to ${props.name} with this identity`,
        dependsOn: props.dependsOn,
      });
      triggerDeps.push(
        new ProjectIamMember(this, 'trigger-event-receiver', {
          project,
          role: 'roles/eventarc.eventReceiver',
          member: this.triggerServiceAccount.member,
        }),
      );
      eventTrigger = {
        eventType: trigger.eventType,
        triggerRegion: trigger.triggerRegion,
        eventFilters: trigger.eventFilters?.map((f) => ({ attribute: f.attribute, value: f.value })),
        pubsubTopic: trigger.pubsubTopic,
        retryPolicy: 'RETRY_POLICY_RETRY',
        serviceAccountEmail: this.triggerServiceAccount.email,
      };
    }

    this.function = new Cloudfunctions2Function(this, 'function', {
      project,
      location: region,
      name: props.name,
      description: props.description,
      labels: props.labels,
      buildConfig: {
        runtime: FUNCTION_RUNTIME,
        entryPoint: props.entryPoint,
        source: { storageSource: { bucket: props.source.bucket, object: props.source.name } },
        serviceAccount: props.buildServiceAccount.id,
        dockerRepository: props.dockerRepository,
        environmentVariables: { ...FUNCTION_BUILD_ENV },
      },
      serviceConfig: {
        serviceAccountEmail: this.serviceAccount.email,
        // Callers are Eventarc, Pub/Sub and Cloud Scheduler in this project: all internal.
        ingressSettings: props.ingress ?? 'ALLOW_INTERNAL_ONLY',
        vpcConnector: props.connector.id,
        vpcConnectorEgressSettings: 'PRIVATE_RANGES_ONLY',
        availableMemory: props.memory ?? '512Mi',
        availableCpu: props.cpu,
        timeoutSeconds: props.timeoutSeconds ?? 300,
        maxInstanceCount: props.maxInstances ?? 3,
        minInstanceCount: 0,
        maxInstanceRequestConcurrency: 1,
        allTrafficOnLatestRevision: true,
        environmentVariables: props.environment,
      },
      eventTrigger,
      dependsOn: [...triggerDeps, ...(props.dependsOn ?? [])],
    });
    this.uri = this.function.serviceConfig.uri;

    if (this.triggerServiceAccount) this.grantInvoker('trigger-invoker', this.triggerServiceAccount.member);
  }

  /** roles/run.invoker on this function's Cloud Run service only. */
  grantInvoker(id: string, member: string): CloudRunV2ServiceIamMember {
    return new CloudRunV2ServiceIamMember(this, id, {
      project: this.props.project,
      location: this.props.region,
      name: this.function.name,
      role: 'roles/run.invoker',
      member,
    });
  }
}
