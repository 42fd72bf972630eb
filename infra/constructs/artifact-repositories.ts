// Artifact Registry: a remote repository mirroring Docker Hub, so the database VM pulls its image
// over Private Google Access (no NAT, no route to the internet), and the repository the function
// builds push their images to, with a cleanup policy so old images do not pile up.
import { ArtifactRegistryRepository, type ArtifactRegistryRepositoryConfig } from '@cdktf/provider-google/lib/artifact-registry-repository/index.js';
import { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface RepositoryProps {
  readonly project: string;
  readonly location: string;
  readonly repositoryId: string;
  readonly labels: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
}

/** How long function images are kept, and how many of each are kept whatever their age. */
export const FUNCTION_IMAGE_RETENTION = { olderThanDays: 30, keepMostRecent: 5 } as const;

type RepositoryShape = Pick<ArtifactRegistryRepositoryConfig, 'mode' | 'description' | 'remoteRepositoryConfig' | 'cleanupPolicies' | 'cleanupPolicyDryRun'>;

abstract class Repository extends Construct {
  readonly repository: ArtifactRegistryRepository;
  protected readonly props: RepositoryProps;

  protected constructor(scope: Construct, id: string, props: RepositoryProps, shape: RepositoryShape) {
    super(scope, id);
    this.props = props;
    this.repository = new ArtifactRegistryRepository(this, 'repository', {
      project: props.project,
      location: props.location,
      repositoryId: props.repositoryId,
      format: 'DOCKER',
      labels: props.labels,
      dependsOn: props.dependsOn,
      ...shape,
    });
  }

  /** `<location>-docker.pkg.dev`: the registry host docker authenticates to. */
  get registryHost(): string {
    return `${this.props.location}-docker.pkg.dev`;
  }

  /** `<host>/<project>/<repository>`. */
  get path(): string {
    return `${this.registryHost}/${this.props.project}/${this.props.repositoryId}`;
  }

  /** A role on this repository only. */
  grant(id: string, member: string, role: 'roles/artifactregistry.reader' | 'roles/artifactregistry.writer'): ArtifactRegistryRepositoryIamMember {
    return new ArtifactRegistryRepositoryIamMember(this, id, {
      project: this.props.project,
      location: this.props.location,
      repository: this.repository.name,
      role,
      member,
    });
  }
}

/** A pull-through cache of Docker Hub: the first pull fetches the image, later pulls are served from the project. */
export class DockerHubMirror extends Repository {
  constructor(scope: Construct, id: string, props: RepositoryProps) {
    super(scope, id, props, {
      mode: 'REMOTE_REPOSITORY',
      description: 'Docker Hub mirror: the database VM pulls ruvector-postgres through it (no NAT)',
      remoteRepositoryConfig: { description: 'Docker Hub', dockerRepository: { publicRepository: 'DOCKER_HUB' } },
    });
  }

  /** The mirror's reference for a Docker Hub image (`ruvnet/ruvector-postgres:2.0.5`). */
  imageRef(dockerHubImage: string): string {
    const image = dockerHubImage.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
    // Docker Hub's official images live under library/
    return `${this.path}/${image.includes('/') ? image : `library/${image}`}`;
  }
}

/** Where Cloud Build pushes the functions' images: old images are deleted, the newest few kept. */
export class FunctionImageRepository extends Repository {
  constructor(scope: Construct, id: string, props: RepositoryProps) {
    super(scope, id, props, {
      mode: 'STANDARD_REPOSITORY',
      description: 'Images of the aqe functions (built by Cloud Build from the function source)',
      cleanupPolicyDryRun: false,
      cleanupPolicies: [
        { id: 'delete-old', action: 'DELETE', condition: { olderThan: `${FUNCTION_IMAGE_RETENTION.olderThanDays * 86400}s` } },
        { id: 'keep-recent', action: 'KEEP', mostRecentVersions: { keepCount: FUNCTION_IMAGE_RETENTION.keepMostRecent } },
      ],
    });
  }

  /** The value of a function's `build_config.docker_repository`. */
  get resourceId(): string {
    return this.repository.id;
  }
}
