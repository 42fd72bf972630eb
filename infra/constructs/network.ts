// The private network: custom VPC and subnet (Private Google Access, flow logs), the Serverless VPC
// Access connector, and the firewall around the database VM. No router and no NAT: the VM has no
// way to the internet; its image comes through Artifact Registry over Private Google Access.
import { ComputeFirewall } from '@cdktf/provider-google/lib/compute-firewall/index.js';
import { ComputeNetwork } from '@cdktf/provider-google/lib/compute-network/index.js';
import { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork/index.js';
import { VpcAccessConnector } from '@cdktf/provider-google/lib/vpc-access-connector/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { IAP_SOURCE_RANGE } from '../config.js';

export interface NetworkProps {
  readonly project: string;
  readonly region: string;
  readonly names: {
    readonly network: string;
    readonly subnet: string;
    readonly connector: string;
  };
  readonly subnetCidr: string;
  readonly connectorCidr: string;
  readonly connectorMinInstances: number;
  readonly connectorMaxInstances: number;
  readonly dependsOn?: ITerraformDependable[];
}

/** Database port on the VM. */
export const POSTGRES_PORT = '5432';

export class Network extends Construct {
  readonly vpc: ComputeNetwork;
  readonly subnet: ComputeSubnetwork;
  readonly connector: VpcAccessConnector;
  readonly connectorCidr: string;
  private readonly project: string;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { project, region, dependsOn } = props;
    this.connectorCidr = props.connectorCidr;
    this.project = project;

    this.vpc = new ComputeNetwork(this, 'vpc', {
      project,
      name: props.names.network,
      autoCreateSubnetworks: false,
      routingMode: 'REGIONAL',
      deleteDefaultRoutesOnCreate: false,
      dependsOn,
    });

    this.subnet = new ComputeSubnetwork(this, 'subnet', {
      project,
      region,
      name: props.names.subnet,
      network: this.vpc.id,
      ipCidrRange: props.subnetCidr,
      // Secret Manager, Logging and Monitoring are reached without NAT or an external IP.
      privateIpGoogleAccess: true,
      logConfig: { aggregationInterval: 'INTERVAL_10_MIN', flowSampling: 0.5, metadata: 'INCLUDE_ALL_METADATA' },
    });

    this.connector = new VpcAccessConnector(this, 'connector', {
      project,
      region,
      name: props.names.connector,
      network: this.vpc.name,
      ipCidrRange: props.connectorCidr,
      machineType: 'e2-micro',
      minInstances: props.connectorMinInstances,
      maxInstances: props.connectorMaxInstances,
      dependsOn,
    });
  }

  /**
   * Firewall for the operators' SQL bastion (engine cloudsql-pgvector, by network tag): IAP may
   * reach SSH (port forwarding to the Cloud SQL private IP), a low-priority deny-all drops the rest.
   */
  protectBastion(targetTag: string, namePrefix: string): void {
    const project = this.project;
    const logConfig = { metadata: 'INCLUDE_ALL_METADATA' };
    new ComputeFirewall(this, 'allow-iap-bastion', {
      project,
      name: `${namePrefix}-allow-iap-to-sql-bastion`,
      network: this.vpc.id,
      direction: 'INGRESS',
      priority: 1000,
      sourceRanges: [IAP_SOURCE_RANGE],
      targetTags: [targetTag],
      allow: [{ protocol: 'tcp', ports: ['22'] }],
      logConfig,
      description: 'IAP TCP forwarding (SSH with OS Login, which forwards the Postgres port to Cloud SQL) to the bastion only',
    });
    new ComputeFirewall(this, 'deny-all-bastion', {
      project,
      name: `${namePrefix}-deny-all-to-sql-bastion`,
      network: this.vpc.id,
      direction: 'INGRESS',
      priority: 65534,
      sourceRanges: ['0.0.0.0/0'],
      targetTags: [targetTag],
      deny: [{ protocol: 'all' }],
      logConfig,
      description: 'Anything not allowed above never reaches the bastion',
    });
  }

  /**
   * Firewall for the database VM (by network tag): IAP may reach 22 and 5432, the connector's /28
   * may reach 5432, and a low-priority deny-all drops everything else aimed at the tag.
   */
  protectDatabase(targetTag: string, namePrefix: string): void {
    const project = this.project;
    const logConfig = { metadata: 'INCLUDE_ALL_METADATA' };
    new ComputeFirewall(this, 'allow-iap', {
      project,
      name: `${namePrefix}-allow-iap-to-db`,
      network: this.vpc.id,
      direction: 'INGRESS',
      priority: 1000,
      sourceRanges: [IAP_SOURCE_RANGE],
      targetTags: [targetTag],
      allow: [{ protocol: 'tcp', ports: ['22', POSTGRES_PORT] }],
      logConfig,
      description: 'IAP TCP forwarding (SSH with OS Login, and the Postgres tunnel) to the database VM only',
    });
    new ComputeFirewall(this, 'allow-connector', {
      project,
      name: `${namePrefix}-allow-connector-to-db`,
      network: this.vpc.id,
      direction: 'INGRESS',
      priority: 1000,
      sourceRanges: [this.connectorCidr],
      targetTags: [targetTag],
      allow: [{ protocol: 'tcp', ports: [POSTGRES_PORT] }],
      logConfig,
      description: 'Cloud Functions (via the Serverless VPC Access connector) to Postgres',
    });
    // Targets only the DB tag, so the connector's own Google-managed rules are never shadowed.
    new ComputeFirewall(this, 'deny-all', {
      project,
      name: `${namePrefix}-deny-all-to-db`,
      network: this.vpc.id,
      direction: 'INGRESS',
      priority: 65534,
      sourceRanges: ['0.0.0.0/0'],
      targetTags: [targetTag],
      deny: [{ protocol: 'all' }],
      logConfig,
      description: 'Anything not allowed above never reaches the database VM',
    });
  }
}
