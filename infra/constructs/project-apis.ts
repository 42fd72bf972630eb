// Enables the Google APIs the stack uses. cloudresourcemanager and serviceusage are bootstrapped
// out of band (DEPLOY.md): Terraform needs them before it can enable anything else.
import { ProjectService } from '@cdktf/provider-google/lib/project-service/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

/** Every API the stack needs, besides the two bootstrap ones. */
export const REQUIRED_APIS = [
  'compute.googleapis.com',
  'iap.googleapis.com',
  'oslogin.googleapis.com',
  'secretmanager.googleapis.com',
  'pubsub.googleapis.com',
  'storage.googleapis.com',
  'cloudfunctions.googleapis.com',
  'run.googleapis.com',
  'cloudbuild.googleapis.com',
  'artifactregistry.googleapis.com',
  'eventarc.googleapis.com',
  'vpcaccess.googleapis.com',
  'cloudscheduler.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'iam.googleapis.com',
  'iamcredentials.googleapis.com',
] as const;

/** Further APIs of the managed database (engine cloudsql-pgvector). */
export const CLOUD_SQL_APIS = ['sqladmin.googleapis.com', 'servicenetworking.googleapis.com'] as const;

export interface ProjectApisProps {
  readonly project: string;
  /** APIs beyond REQUIRED_APIS (the database engine's). */
  readonly extra?: readonly string[];
}

/** One `google_project_service` per API; `disable_on_destroy` is off so a destroy never breaks other users of the project. */
export class ProjectApis extends Construct {
  /** Depend on this to order resources after the APIs are on. */
  readonly services: ITerraformDependable[];

  constructor(scope: Construct, id: string, props: ProjectApisProps) {
    super(scope, id);
    this.services = [...REQUIRED_APIS, ...(props.extra ?? [])].map(
      (api) =>
        new ProjectService(this, api.split('.')[0] as string, {
          project: props.project,
          service: api,
          disableOnDestroy: false,
          disableDependentServices: false,
        }),
    );
  }
}
