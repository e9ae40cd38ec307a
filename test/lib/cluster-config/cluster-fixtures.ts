import { formatClusterNote, validateClusterConfig } from '../../../lib/cluster-config';
import { formatProblem } from '../../../lib/config';

export const CERTIFICATE = 'arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

/**
 * Cortex v0.42's documented cluster.yaml (docs/clusters/management/create.md) with every field written, set to
 * values this project takes: private subnets, an internal NLB with TLS and an allow-list, three node groups (CPU,
 * spot GPU with an on-demand base, Inferentia) with each volume type, and the fields that are notes here.
 */
export const FULL_CLUSTER_YAML = `# cluster name
cluster_name: cortex-prod
region: us-west-2
availability_zones: [us-west-2a, us-west-2b]
node_groups:
  - name: ng-cpu
    instance_type: m5.large
    min_instances: 2
    max_instances: 6
    priority: 1
    instance_volume_size: 60
    instance_volume_type: gp3
    instance_volume_iops: 6000
    instance_volume_throughput: 250
    spot: false
  - name: ng-gpu
    instance_type: g4dn.xlarge
    min_instances: 0
    max_instances: 4
    priority: 20
    instance_volume_size: 100
    instance_volume_type: io1
    instance_volume_iops: 4000
    spot: true
    spot_config:
      instance_distribution: [g4dn.xlarge, g5.xlarge]
      on_demand_base_capacity: 1
      on_demand_percentage_above_base_capacity: 0
      max_price: 0.6
      instance_pools: 2
  - name: ng-inf
    instance_type: inf2.xlarge
    min_instances: 0
    max_instances: 2
    instance_volume_type: gp2
subnet_visibility: private
nat_gateway: highly_available
api_load_balancer_type: nlb
api_load_balancer_scheme: internal
operator_load_balancer_scheme: internet-facing
api_load_balancer_cidr_white_list: [10.0.0.0/8, "2001:db8::/32"]
operator_load_balancer_cidr_white_list: [203.0.113.0/24]
tags:
  team: ml
  cost-center: "1234"
ssl_certificate_arn: ${CERTIFICATE}
iam_policy_arns: ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
vpc_cidr: 192.168.0.0/16
prometheus_instance_type: "t3.medium"
telemetry: false
image_operator: quay.io/cortexlabs/operator:0.42.1
image_proxy: quay.io/cortexlabs/proxy:0.42.1
`;

/** The lines `cortex validate` would print for a cluster.yaml's problems (`cluster.yaml:LINE:COL: ...`). */
export function clusterProblems(yaml: string): string[] {
  return validateClusterConfig(yaml, 'cluster.yaml').problems.map(formatProblem);
}

/** The warnings of a valid cluster.yaml. */
export function clusterNotes(yaml: string): string[] {
  const result = validateClusterConfig(yaml, 'cluster.yaml');
  expect(result.problems.map(formatProblem)).toEqual([]);
  return result.notes.map(formatClusterNote);
}
