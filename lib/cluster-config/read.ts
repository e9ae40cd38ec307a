/**
 * Cortex v0.42's cluster.yaml → a validated, fully defaulted {@link ClusterFileSpec}: every field checked, every
 * problem reported at once with its position, through the same field readers as cortex.yaml.
 */
import { ConfigProblem } from '../config/errors';
import { describeValue, isMapping } from '../config/describe-value';
import { Field, ValidationContext } from '../config/field';
import { Locator } from '../config/field-path';
import {
  readBoolean,
  readEnum,
  readInteger,
  readList,
  readNumber,
  readSection,
  readString,
  unknownFieldMessage,
} from '../config/field-readers';
import { readIamPolicyArns } from '../config/iam';
import { suggest } from '../config/suggest';
import {
  ACCELERATED_FAMILY,
  instanceArchitecture,
  instanceFamily,
  MAX_NODE_GROUP_NAME_LENGTH,
  NEURON_INSTANCE_FAMILIES,
  NodeGroupAccelerator,
  NVIDIA_INSTANCE_FAMILIES,
} from '../instance-families';

/** A node group of the file, with Cortex's defaults applied. */
export interface ClusterNodeGroupSpec {
  readonly name: string;
  /** `instance_type` first, then `spot_config.instance_distribution`'s others. */
  readonly instanceTypes: readonly string[];
  /** From the instance family. */
  readonly accelerator: NodeGroupAccelerator;
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly priority: number;
  readonly volumeSize: number;
  readonly volumeType: VolumeType;
  readonly volumeIops?: number;
  readonly volumeThroughput?: number;
  readonly spot: boolean;
  readonly onDemandBaseCapacity: number;
  /** Where the group's entry starts. */
  readonly line: number;
  readonly column: number;
}

/** Who reaches the EKS API endpoint, from the `operator_*` fields. */
export interface ClusterEndpointSpec {
  /** `operator_load_balancer_scheme: internal`: the endpoint is private only. */
  readonly privateOnly: boolean;
  /** `operator_load_balancer_cidr_white_list`: the public side's CIDR blocks. */
  readonly publicCidrs?: readonly string[];
}

/** A cluster.yaml, validated, with every default applied. */
export interface ClusterFileSpec {
  /** The file as named. */
  readonly file: string;
  readonly clusterName: string;
  readonly region: string;
  /** Undefined: the VPC's default zones. */
  readonly availabilityZones?: readonly string[];
  /** Undefined when the file has no `node_groups`: the stack's default groups. */
  readonly nodeGroups?: readonly ClusterNodeGroupSpec[];
  readonly natGateways: number;
  readonly internetFacing: boolean;
  /** Undefined: any address. */
  readonly loadBalancerSourceRanges?: readonly string[];
  /** Undefined when the file has no `operator_*` field: CortexCluster's default endpoint. */
  readonly endpoint?: ClusterEndpointSpec;
  /** The file's tags with `cortex.dev/cluster-name`. */
  readonly tags: Readonly<Record<string, string>>;
  readonly sslCertificateArn?: string;
  readonly iamPolicyArns: readonly string[];
  readonly vpcCidr?: string;
}

/** The outcome of validating a cluster.yaml: the spec when there is no problem; notes in any case. */
export interface ClusterValidationResult {
  readonly spec?: ClusterFileSpec;
  /** Every problem, ordered by position. */
  readonly problems: readonly ConfigProblem[];
  /** Fields accepted without effect here, and other warnings: the file stays valid. */
  readonly notes: readonly ConfigProblem[];
}

export const VOLUME_TYPES = ['gp3', 'gp2', 'io1'] as const;
export type VolumeType = (typeof VOLUME_TYPES)[number];

/** Cortex's default cluster name. */
export const DEFAULT_CLUSTER_NAME = 'cortex';
/** The tag Cortex put on every resource, which the stack keeps. */
export const CLUSTER_NAME_TAG = 'cortex.dev/cluster-name';

/** The images Cortex's cluster ran, which it let a cluster.yaml replace. */
export const CORTEX_IMAGE_KEYS: readonly string[] = [
  'image_manager', 'image_operator', 'image_controller_manager', 'image_autoscaler', 'image_proxy', 'image_async_gateway',
  'image_activator', 'image_enqueuer', 'image_dequeuer', 'image_cluster_autoscaler', 'image_metrics_server',
  'image_nvidia_device_plugin', 'image_neuron_device_plugin', 'image_neuron_scheduler', 'image_fluent_bit', 'image_istio_proxy',
  'image_istio_pilot', 'image_prometheus', 'image_prometheus_config_reloader', 'image_prometheus_operator',
  'image_prometheus_statsd_exporter', 'image_prometheus_dcgm_exporter', 'image_prometheus_kube_state_metrics',
  'image_prometheus_node_exporter', 'image_kube_rbac_proxy', 'image_grafana', 'image_event_exporter', 'image_kubexit',
];

const MAPPED_KEYS = [
  'cluster_name', 'region', 'availability_zones', 'node_groups', 'subnet_visibility', 'nat_gateway', 'api_load_balancer_type',
  'api_load_balancer_scheme', 'api_load_balancer_cidr_white_list', 'operator_load_balancer_scheme',
  'operator_load_balancer_cidr_white_list', 'tags', 'ssl_certificate_arn', 'iam_policy_arns', 'vpc_cidr',
] as const;

/** Accepted, checked, and without effect here: a note says why. */
const NOTED_KEYS = ['prometheus_instance_type', 'telemetry', ...CORTEX_IMAGE_KEYS];

/** Refused whatever their value, with the reason. */
const REFUSED_KEYS: Readonly<Record<string, string>> = {
  subnets:
    'an existing VPC is not named in cluster.yaml here: pass it in code as CortexClusterProps.vpc (ec2.Vpc.fromLookup with its ID), ' +
    'or leave subnets out and the stack creates the VPC (vpc_cidr, availability_zones)',
  bucket: "Cortex's operator set it; the stack keeps no bucket of its own: remove it",
  cluster_uid: "Cortex's operator set it: remove it",
  account_id: 'the account is the one cdk deploy runs with (or the stack\'s env): remove it',
  cortex_policy_arn: "Cortex's operator set it; the stack makes the roles it needs: remove it",
};

/** Keys of AWS credentials in older cluster.yaml files and environments; their values are never echoed. */
const CREDENTIAL_KEYS = [
  'aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'cortex_aws_access_key_id',
  'cortex_aws_secret_access_key', 'cortex_aws_session_token',
];
const CREDENTIALS_MESSAGE =
  'AWS credentials do not belong in cluster.yaml (its value is not shown here): cdk deploy and the cortex CLI use the AWS ' +
  'credential chain (AWS_PROFILE or AWS_ACCESS_KEY_ID in the environment, ~/.aws/credentials, SSO, or an instance or CI role); ' +
  'remove the key, and rotate the key if the file was shared';

/** Every key a cluster.yaml may have here, for did-you-mean. */
export const CLUSTER_FILE_KEYS: readonly string[] = [...MAPPED_KEYS, ...NOTED_KEYS];

const NODE_GROUP_KEYS = [
  'name', 'instance_type', 'min_instances', 'max_instances', 'priority', 'instance_volume_size', 'instance_volume_type',
  'instance_volume_iops', 'instance_volume_throughput', 'spot', 'spot_config',
];
const SPOT_CONFIG_KEYS = ['instance_distribution', 'on_demand_base_capacity', 'on_demand_percentage_above_base_capacity', 'max_price', 'instance_pools'];

/**
 * Regions with EKS that this version knows. A region of the right shape that is not listed (a new one) is
 * accepted with a note.
 */
export const KNOWN_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-south-1', 'ap-south-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-south-1', 'eu-south-2', 'eu-north-1', 'il-central-1', 'me-south-1',
  'me-central-1', 'mx-central-1', 'sa-east-1', 'us-gov-east-1', 'us-gov-west-1', 'cn-north-1', 'cn-northwest-1',
];
const REGION_SHAPE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

const CLUSTER_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const NODE_GROUP_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:certificate\/[0-9A-Za-z-]+$/;
/** What AWS allows in tag keys and values: letters, digits, spaces and `_ . : / = + - @`. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const RESERVED_TAG_PREFIXES = ['aws:', 'kubernetes.io/', 'k8s.io/', 'eksctl.', 'alpha.eksctl.', 'beta.eksctl.'];
/** The stack's resources hold 50 tags; the node groups use up to 10 for the cluster-autoscaler. */
export const MAX_TAGS = 40;

/** Whether a parsed YAML value is a cluster.yaml (a mapping with a cluster.yaml key) rather than a cortex.yaml (a list). */
export function looksLikeClusterFile(value: unknown): boolean {
  if (!isMapping(value)) return false;
  const known = [...CLUSTER_FILE_KEYS, ...CREDENTIAL_KEYS, ...Object.keys(REFUSED_KEYS)];
  return Object.keys(value).some((key) => known.includes(key) || (key.length > 5 && suggest(key, known) !== undefined));
}

/** Validates a cluster.yaml's value; `locator` places each problem. */
export function validateClusterValue(value: unknown, file: string, locator: Locator): ClusterValidationResult {
  const context = new ValidationContext(file, locator);
  const notes = new ValidationContext(file, locator);
  let spec: ClusterFileSpec | undefined;
  try {
    spec = readClusterFile(Field.root(context, value), (field, message) => notes.report(field.path, locator.keyAt(field.path), message));
  } catch (e) {
    context.report([], { line: 0, column: 0 }, `internal error while validating (please report it): ${(e as Error).message}`);
  }
  const problems = byPosition(context.problems);
  if (problems.length > 0 || !spec) {
    if (problems.length === 0) {
      problems.push({ file, line: 0, column: 0, path: '', message: 'internal error: no spec, yet no problem was reported (please report it)' });
    }
    return { problems, notes: byPosition(notes.problems) };
  }
  return { spec, problems, notes: byPosition(notes.problems) };
}

type Note = (field: Field, message: string) => void;

function readClusterFile(root: Field, note: Note): ClusterFileSpec | undefined {
  if (!root.isSet) {
    root.problem('the file is empty; a cluster.yaml is a mapping with at least region (see docs/cluster.md)');
    return undefined;
  }
  if (!isMapping(root.value)) {
    root.problem(`must be a mapping of cluster fields (cluster_name, region, node_groups, ...), got ${describeValue(root.value)}`);
    return undefined;
  }
  for (const key of Object.keys(root.value)) {
    const field = root.child(key);
    if (CREDENTIAL_KEYS.includes(key)) field.keyProblem(CREDENTIALS_MESSAGE);
    else if (Object.prototype.hasOwnProperty.call(REFUSED_KEYS, key)) field.keyProblem(`not supported: ${REFUSED_KEYS[key]}`);
    else if (!CLUSTER_FILE_KEYS.includes(key)) field.keyProblem(unknownFieldMessage(key, CLUSTER_FILE_KEYS));
  }

  const clusterName = readClusterName(root.child('cluster_name'));
  const region = readRegion(root.child('region'), note);
  const availabilityZones = readAvailabilityZones(root.child('availability_zones'), region);
  const nodeGroups = readNodeGroups(root.child('node_groups'), note);
  readSubnetVisibility(root.child('subnet_visibility'));
  const natGateways = readNatGateway(root.child('nat_gateway'), availabilityZones);
  readLoadBalancerType(root.child('api_load_balancer_type'));
  const scheme = readEnum(root.child('api_load_balancer_scheme'), SCHEMES, { default: 'internet-facing' });
  const sourceRanges = readCidrList(root.child('api_load_balancer_cidr_white_list'), { ipv6: true });
  const endpoint = readEndpoint(root);
  const tags = readTags(root.child('tags'), clusterName);
  const sslCertificateArn = readCertificateArn(root.child('ssl_certificate_arn'), region);
  // Not set: none, where Cortex gave every API S3 full access (least privilege: name what the APIs need).
  const iamPolicyArnsField = root.child('iam_policy_arns');
  const iamPolicyArns = iamPolicyArnsField.isSet ? readIamPolicyArns(iamPolicyArnsField) : [];
  const vpcCidr = readVpcCidr(root.child('vpc_cidr'), availabilityZones?.length ?? 3);
  readNotedFields(root, note);

  if (
    clusterName === undefined || region === undefined || availabilityZones === null || nodeGroups === null || natGateways === undefined ||
    scheme === undefined || sourceRanges === null || endpoint === null || tags === undefined || sslCertificateArn === null ||
    iamPolicyArns === undefined || vpcCidr === null
  ) {
    return undefined;
  }
  return {
    file: root.context.file,
    clusterName,
    region,
    ...(availabilityZones !== undefined ? { availabilityZones } : {}),
    ...(nodeGroups !== undefined ? { nodeGroups } : {}),
    natGateways,
    internetFacing: scheme === 'internet-facing',
    ...(sourceRanges !== undefined ? { loadBalancerSourceRanges: sourceRanges } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
    tags,
    ...(sslCertificateArn !== undefined ? { sslCertificateArn } : {}),
    iamPolicyArns,
    ...(vpcCidr !== undefined ? { vpcCidr } : {}),
  };
}

const SCHEMES = ['internet-facing', 'internal'] as const;

/** Cortex's rule: 3 to 54 lowercase letters, digits and single dashes (it named an S3 bucket after it). */
function readClusterName(field: Field): string | undefined {
  const name = readString(field, { default: DEFAULT_CLUSTER_NAME });
  if (name === undefined) return undefined;
  if (name.length < 3 || name.length > 54 || !CLUSTER_NAME.test(name)) {
    field.problem(`must be 3 to 54 lowercase letters, digits and single "-" between them (as Cortex required), got ${describeValue(name)}`);
    return undefined;
  }
  return name;
}

function readRegion(field: Field, note: Note): string | undefined {
  const region = readString(field, { required: true });
  if (region === undefined) return undefined;
  if (KNOWN_REGIONS.includes(region)) return region;
  if (REGION_SHAPE.test(region)) {
    note(field, `${describeValue(region)} is not a region this version knows to have EKS (${KNOWN_REGIONS.slice(0, 4).join(', ')}, ...): check its name`);
    return region;
  }
  const meant = suggest(region, KNOWN_REGIONS);
  field.problem(`must be an AWS region such as us-east-1 or eu-west-1, got ${describeValue(region)}${meant ? `; did you mean ${meant}?` : ''}`);
  return undefined;
}

/** null: invalid (reported); undefined: not set. */
function readAvailabilityZones(field: Field, region: string | undefined): readonly string[] | undefined | null {
  if (!field.isSet) return undefined;
  const items = readList(field);
  if (!items) return null;
  if (items.length === 0) return undefined;
  let valid = true;
  const zones: string[] = [];
  items.forEach((item, index) => {
    const zone = readString(item, { required: true });
    if (zone === undefined) {
      valid = false;
      return;
    }
    if (region !== undefined && !new RegExp(`^${region}[a-z]$`).test(zone)) {
      item.problem(`must be an availability zone of region ${region} (${region}a, ${region}b, ...), got ${describeValue(zone)}`);
      valid = false;
      return;
    }
    const first = zones.indexOf(zone);
    if (first !== -1) {
      item.problem(`${describeValue(zone)} is listed twice (also [${first}])`);
      valid = false;
      return;
    }
    zones[index] = zone;
  });
  if (items.length === 1) {
    field.problem('must list at least 2 zones (EKS needs subnets in two), got 1');
    return null;
  }
  if (items.length > 7) {
    field.problem(`must list at most 7 zones, got ${items.length}`);
    return null;
  }
  return valid ? zones : null;
}

function readSubnetVisibility(field: Field): void {
  const visibility = readEnum(field, ['private', 'public'], { default: 'private' });
  if (visibility === 'public') {
    field.problem(
      'must be private here, got "public": nodes run in private subnets and reach the internet through a NAT gateway; public IPs on ' +
        'nodes would expose their ports to the internet behind security groups alone. Set private (or remove the field)',
    );
  }
}

/** The NAT gateways: `single` 1, `highly_available` one per zone. */
function readNatGateway(field: Field, zones: readonly string[] | undefined | null): number | undefined {
  const value = readEnum(field, ['single', 'highly_available', 'none'], { default: 'single' });
  if (value === 'none') {
    field.problem(
      'must be single or highly_available, got "none": the nodes run in private subnets and need a NAT gateway to pull images and ' +
        'reach AWS APIs',
    );
    return undefined;
  }
  if (value === undefined) return undefined;
  return value === 'single' ? 1 : (zones?.length ?? 3);
}

function readLoadBalancerType(field: Field): void {
  const type = readEnum(field, ['nlb', 'elb'], { default: 'nlb' });
  if (type === 'elb') {
    field.problem('must be nlb here, got "elb": the APIs gateway is behind a Network Load Balancer (Classic Load Balancers are retired); set nlb or remove the field');
  }
}

/**
 * A list of CIDR blocks; null: invalid, undefined: not set. IPv4 only where EKS takes IPv4 only (the endpoint's
 * public access CIDRs).
 */
function readCidrList(field: Field, options: { ipv6: boolean }): readonly string[] | undefined | null {
  if (!field.isSet) return undefined;
  const items = readList(field);
  if (!items) return null;
  const cidrs = items.map((item) => {
    const value = readString(item, { required: true });
    if (value === undefined) return undefined;
    if (isIpv4Cidr(value) || (options.ipv6 && isIpv6Cidr(value))) return value;
    const allowed = options.ipv6 ? 'a CIDR block such as "203.0.113.0/24" or "2001:db8::/32"' : 'an IPv4 CIDR block such as "203.0.113.0/24"';
    item.problem(`must be ${allowed}, got ${describeValue(value)}`);
    return undefined;
  });
  return cidrs.every((cidr): cidr is string => cidr !== undefined) ? cidrs : null;
}

export function isIpv4Cidr(value: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  return match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255) && Number(match[5]) <= 32;
}

function isIpv6Cidr(value: string): boolean {
  const match = /^([0-9A-Fa-f:]+)\/(\d{1,3})$/.exec(value);
  if (!match || Number(match[2]) > 128) return false;
  const halves = match[1].split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  if (!groups.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  return halves.length === 2 ? groups.length < 8 : groups.length === 8;
}

/**
 * Cortex's operator was where its CLI reached the cluster; here the cortex CLI and kubectl reach the EKS API
 * endpoint, so the operator's scheme and allow-list say who reaches that. null: invalid.
 */
function readEndpoint(root: Field): ClusterEndpointSpec | undefined | null {
  const schemeField = root.child('operator_load_balancer_scheme');
  const cidrField = root.child('operator_load_balancer_cidr_white_list');
  const scheme = readEnum(schemeField, SCHEMES);
  const cidrs = readCidrList(cidrField, { ipv6: false });
  if ((schemeField.isSet && scheme === undefined) || cidrs === null) return null;
  if (scheme === 'internal' && cidrs !== undefined) {
    cidrField.problem(
      'must be left out with operator_load_balancer_scheme: internal: the EKS API endpoint is then private, with no public side to restrict',
    );
    return null;
  }
  if (scheme === undefined && cidrs === undefined) return undefined;
  return { privateOnly: scheme === 'internal', ...(cidrs !== undefined ? { publicCidrs: cidrs } : {}) };
}

function readTags(field: Field, clusterName: string | undefined): Readonly<Record<string, string>> | undefined {
  const base: Record<string, string> = clusterName !== undefined ? { [CLUSTER_NAME_TAG]: clusterName } : {};
  if (!field.isSet) return base;
  if (!isMapping(field.value)) {
    field.problem(`must be a mapping of tag names to values, got ${describeValue(field.value)}`);
    return undefined;
  }
  const entries = Object.keys(field.value);
  let valid = true;
  if (entries.length > MAX_TAGS) {
    field.problem(`must have at most ${MAX_TAGS} tags (AWS resources hold 50, and node groups use up to 10 for the cluster-autoscaler), got ${entries.length}`);
    valid = false;
  }
  const tags: Record<string, string> = {};
  for (const key of entries) {
    const item = field.child(key);
    const keyProblem = tagTextProblem(key, 127);
    if (keyProblem) {
      item.keyProblem(`tag name ${describeValue(key)} ${keyProblem}`);
      valid = false;
      continue;
    }
    const reserved = RESERVED_TAG_PREFIXES.find((prefix) => key.toLowerCase().startsWith(prefix.toLowerCase()));
    if (reserved) {
      item.keyProblem(`tag name ${describeValue(key)} must not start with ${JSON.stringify(reserved)} (reserved for AWS, Kubernetes and eksctl)`);
      valid = false;
      continue;
    }
    const value = readString(item, { required: true, allowEmpty: true });
    if (value === undefined) {
      valid = false;
      continue;
    }
    const valueProblem = tagTextProblem(value, 255);
    if (valueProblem) {
      item.problem(`tag value ${valueProblem}, got ${describeValue(value)}`);
      valid = false;
      continue;
    }
    if (key.startsWith('cortex.dev/') && !(key === CLUSTER_NAME_TAG && value === clusterName)) {
      item.keyProblem(
        key === CLUSTER_NAME_TAG
          ? `tag ${CLUSTER_NAME_TAG} is set to the cluster's name (${describeValue(clusterName)}) and cannot be changed, got ${describeValue(value)}`
          : `tag name ${describeValue(key)} must not start with "cortex.dev/" (reserved for the stack's own tags)`,
      );
      valid = false;
      continue;
    }
    tags[key] = value;
  }
  return valid ? { ...tags, ...base } : undefined;
}

function tagTextProblem(text: string, maxLength: number): string | undefined {
  if (text.length < 1 || text.length > maxLength) return `must be 1 to ${maxLength} characters`;
  if (text.trim() !== text) return 'must not start or end with a space';
  if (!TAG_TEXT.test(text)) return 'may hold only letters, digits, spaces and _ . : / = + - @';
  return undefined;
}

/** null: invalid. */
function readCertificateArn(field: Field, region: string | undefined): string | undefined | null {
  if (!field.isSet) return undefined;
  const arn = readString(field);
  if (arn === undefined) return null;
  const match = ACM_ARN.exec(arn);
  if (!match) {
    field.problem(`must be the ARN of an ACM certificate, "arn:aws:acm:<region>:<account>:certificate/<id>", got ${describeValue(arn)}`);
    return null;
  }
  if (region !== undefined && match[1] !== region) {
    field.problem(
      `must be a certificate of the cluster's region ${region} (a load balancer takes certificates of its own region only), got one of ${match[1]}: ` +
        `request or import the certificate in ${region}`,
    );
    return null;
  }
  return arn;
}


/** Cortex's rule: an IPv4 block of /16 to /24; and room for a public and a private subnet per zone. null: invalid. */
function readVpcCidr(field: Field, zones: number): string | undefined | null {
  if (!field.isSet) return undefined;
  const cidr = readString(field);
  if (cidr === undefined) return null;
  if (!isIpv4Cidr(cidr)) {
    field.problem(`must be an IPv4 CIDR block such as "10.0.0.0/16", got ${describeValue(cidr)}`);
    return null;
  }
  const mask = Number(cidr.split('/')[1]);
  if (mask < 16 || mask > 24) {
    field.problem(`must have a prefix length from /16 to /24, got ${describeValue(cidr)}`);
    return null;
  }
  const privateMask = mask + Math.ceil(Math.log2(zones + 1));
  const publicMask = Math.min(mask + 8, 28);
  if (zones * 2 ** (mask - publicMask) > 2 ** (mask - privateMask)) {
    field.problem(`is too small for a public and a private subnet in each of ${zones} zones, got ${describeValue(cidr)}: use a shorter prefix (/23 or less) or fewer zones`);
    return null;
  }
  return cidr;
}

/** Fields that mean nothing here: checked for their type, then a note says what stands in their place. */
function readNotedFields(root: Field, note: Note): void {
  const prometheus = root.child('prometheus_instance_type');
  if (prometheus.exists) {
    const type = readString(prometheus);
    if (type !== undefined && !INSTANCE_TYPE.test(type)) {
      prometheus.problem(`must be an EC2 instance type such as t3.medium, got ${describeValue(type)}`);
    } else if (type !== undefined) {
      note(prometheus, 'has no effect here: Prometheus runs on the CPU node groups (size them for it), not on a node group of its own');
    }
  }
  const telemetry = root.child('telemetry');
  if (telemetry.exists && readBoolean(telemetry) !== undefined) {
    note(telemetry, 'has no effect here: cortex-cdk sends no telemetry');
  }
  for (const key of CORTEX_IMAGE_KEYS) {
    const field = root.child(key);
    if (!field.exists) continue;
    if (readString(field) === undefined) continue;
    note(
      field,
      "has no effect here: Cortex's own images are not used; the platform installs upstream charts at the versions this release pins " +
        '(each add-on takes a repository option in code, for a mirror)',
    );
  }
}

/** null: invalid; undefined: not in the file (the stack's default node groups). */
function readNodeGroups(field: Field, note: Note): readonly ClusterNodeGroupSpec[] | undefined | null {
  if (!field.exists) return undefined;
  const items = readList(field, { required: true, minLength: 1, what: 'node group (a CPU one at least: the platform runs there)' });
  if (!items) return null;
  if (items.length > 100) {
    field.problem(`must list at most 100 node groups (as Cortex allowed), got ${items.length}`);
    return null;
  }
  const firstIndex = new Map<string, number>();
  const groups = items.map((item, index) => {
    const group = readNodeGroup(item, note);
    const nameField = item.child('name');
    const name = typeof nameField.value === 'string' ? nameField.value : undefined;
    if (name !== undefined) {
      const previous = firstIndex.get(name);
      if (previous !== undefined) {
        nameField.problem(`duplicate node group name ${describeValue(name)} (also node_groups[${previous}]); names must be unique`);
        return undefined;
      }
      firstIndex.set(name, index);
    }
    return group;
  });
  if (!groups.every((group): group is ClusterNodeGroupSpec => group !== undefined)) return null;
  if (!groups.some((group) => group.accelerator === NodeGroupAccelerator.NONE && group.minInstances >= 1)) {
    field.problem(
      'must have a CPU node group with min_instances >= 1: CoreDNS and the platform (Istio, KEDA, Prometheus, the cluster-autoscaler) ' +
        `run there and do not tolerate the GPU/Neuron taints; got ${groups.map((g) => `${g.name} (${g.instanceTypes[0]}, min ${g.minInstances})`).join(', ')}`,
    );
    return null;
  }
  return groups;
}

function readNodeGroup(item: Field, note: Note): ClusterNodeGroupSpec | undefined {
  const section = readSection(item, NODE_GROUP_KEYS);
  if (!section) return undefined;
  const name = readNodeGroupName(section.get('name'));
  const instanceField = section.get('instance_type');
  const instanceType = readInstanceType(instanceField);
  const accelerator = instanceType === undefined ? undefined : acceleratorOf(instanceField, instanceType);
  const minInstances = readInteger(section.get('min_instances'), { min: 0, default: 1 });
  const maxInstances = readInteger(section.get('max_instances'), { min: 1, default: 5 });
  const priority = readInteger(section.get('priority'), { min: 1, max: 100, default: 1 });
  const volumeSize = readInteger(section.get('instance_volume_size'), { min: 20, max: 16384, default: 50 });
  const volumeType = readVolumeType(section.get('instance_volume_type'));
  const volume = volumeType && volumeSize !== undefined ? readVolumePerformance(section, volumeType, volumeSize) : undefined;
  const spot = readBoolean(section.get('spot'), { default: false });
  const spotConfig = spot === undefined ? undefined : readSpotConfig(section.get('spot_config'), spot, instanceType, accelerator, note);

  let sizesValid = true;
  if (minInstances !== undefined && maxInstances !== undefined && minInstances > maxInstances) {
    section.get('min_instances').problem(`must be <= max_instances (${maxInstances}), got ${minInstances}`);
    sizesValid = false;
  }
  const base = spotConfig?.onDemandBaseCapacity ?? 0;
  if (maxInstances !== undefined && base > 0 && base >= maxInstances) {
    item.child('spot_config').child('on_demand_base_capacity').problem(
      `must be < max_instances (${maxInstances}), so that the spot group can hold at least one node, got ${base}`,
    );
    sizesValid = false;
  }
  if (
    name === undefined || instanceType === undefined || accelerator === undefined || minInstances === undefined || maxInstances === undefined ||
    priority === undefined || volumeSize === undefined || volumeType === undefined || volume === undefined || spot === undefined ||
    spotConfig === undefined || !sizesValid
  ) {
    return undefined;
  }
  const position = item.context.locator.valueAt(item.path);
  return {
    name,
    instanceTypes: [instanceType, ...spotConfig.instanceDistribution.filter((type) => type !== instanceType)],
    accelerator,
    minInstances,
    maxInstances,
    priority,
    volumeSize,
    volumeType,
    ...volume,
    spot,
    onDemandBaseCapacity: base,
    line: position.line,
    column: position.column,
  };
}

function readNodeGroupName(field: Field): string | undefined {
  const name = readString(field, { required: true });
  if (name === undefined) return undefined;
  if (name.length > MAX_NODE_GROUP_NAME_LENGTH || !NODE_GROUP_NAME.test(name)) {
    field.problem(
      `must be a DNS-1123 label of at most ${MAX_NODE_GROUP_NAME_LENGTH} characters (lowercase letters, digits and "-", starting and ending ` +
        `with a letter or digit; nodes carry it as the label cortex.dev/node-group), got ${describeValue(name)}`,
    );
    return undefined;
  }
  return name;
}

function readInstanceType(field: Field): string | undefined {
  const type = readString(field, { required: true });
  if (type === undefined) return undefined;
  if (!INSTANCE_TYPE.test(type)) {
    field.problem(`must be an EC2 instance type such as m5.large or g4dn.xlarge, got ${describeValue(type)}`);
    return undefined;
  }
  const size = type.split('.')[1];
  if (size === 'nano' || size === 'micro') {
    field.problem(`must be larger than micro (a node runs the kubelet, the VPC CNI and the platform's agents), got ${describeValue(type)}`);
    return undefined;
  }
  return type;
}

/**
 * NVIDIA and Neuron families by name; other accelerated families are refused; anything else is a CPU instance
 * (its family is left to EC2 to know).
 */
function acceleratorOf(field: Field, instanceType: string): NodeGroupAccelerator | undefined {
  const family = instanceFamily(instanceType);
  if (NVIDIA_INSTANCE_FAMILIES.includes(family)) return NodeGroupAccelerator.NVIDIA;
  if (NEURON_INSTANCE_FAMILIES.includes(family)) return NodeGroupAccelerator.NEURON;
  // Other accelerated families: AMD GPUs, Gaudi, FPGAs, video, older NVIDIA and Inferentia generations.
  if (ACCELERATED_FAMILY.test(family)) {
    const inf1 = family === 'inf1' ? " (Inferentia1: use inf2, the generation the platform's Neuron setup serves)" : '';
    field.problem(
      `${describeValue(instanceType)} is an accelerated family this version does not serve${inf1}; NVIDIA GPU families: ` +
        `${NVIDIA_INSTANCE_FAMILIES.join(', ')}; Inferentia/Trainium families: ${NEURON_INSTANCE_FAMILIES.join(', ')}; or a CPU instance type`,
    );
    return undefined;
  }
  return NodeGroupAccelerator.NONE;
}

function readVolumeType(field: Field): VolumeType | undefined {
  if (field.isSet && (field.value === 'st1' || field.value === 'sc1')) {
    field.problem(`must be one of ${VOLUME_TYPES.join(', ')}, got ${describeValue(field.value)}: EBS does not boot an instance from st1 or sc1 volumes`);
    return undefined;
  }
  return readEnum(field, VOLUME_TYPES, { default: 'gp3' });
}

/** Cortex's (and EBS') rules for IOPS and throughput. undefined: invalid. */
function readVolumePerformance(
  section: { get(key: string): Field },
  volumeType: VolumeType,
  size: number,
): { volumeIops?: number; volumeThroughput?: number } | undefined {
  const iopsField = section.get('instance_volume_iops');
  const throughputField = section.get('instance_volume_throughput');
  let valid = true;
  let iops: number | undefined;
  let throughput: number | undefined;
  if (iopsField.isSet) {
    if (volumeType === 'gp2') {
      iopsField.problem(`applies to gp3 and io1 volumes, got ${describeValue(iopsField.value)} with instance_volume_type gp2`);
      valid = false;
    } else {
      const [min, max, perGiB] = volumeType === 'gp3' ? [3000, 16000, 500] : [100, 64000, 50];
      iops = readInteger(iopsField, { min, max });
      if (iops === undefined) valid = false;
      else if (iops > size * perGiB) {
        iopsField.problem(`must be at most ${perGiB} per GiB of ${volumeType} (${size * perGiB} for instance_volume_size ${size}), got ${iops}`);
        valid = false;
      }
    }
  }
  if (throughputField.isSet) {
    if (volumeType !== 'gp3') {
      throughputField.problem(`applies to gp3 volumes only, got ${describeValue(throughputField.value)} with instance_volume_type ${volumeType}`);
      valid = false;
    } else {
      throughput = readInteger(throughputField, { min: 125, max: 1000 });
      if (throughput === undefined) valid = false;
    }
  }
  if (!valid) return undefined;
  if (volumeType === 'gp3' && (iops === undefined) !== (throughput === undefined)) {
    const [missing, given] = iops === undefined ? [iopsField, throughputField] : [throughputField, iopsField];
    missing.missing(`required with ${given.key} on gp3 (as Cortex required: both or neither; gp3's baseline is 3000 IOPS and 125 MiB/s)`);
    return undefined;
  }
  if (iops !== undefined && throughput !== undefined && throughput * 4 > iops) {
    throughputField.problem(`must be at most a quarter of instance_volume_iops (${iops / 4} for ${iops}), got ${throughput}`);
    return undefined;
  }
  if (volumeType === 'io1' && iops === undefined) iops = Math.min(size * 50, 3000);
  return { ...(iops !== undefined ? { volumeIops: iops } : {}), ...(throughput !== undefined ? { volumeThroughput: throughput } : {}) };
}

interface SpotConfigSpec {
  readonly instanceDistribution: readonly string[];
  readonly onDemandBaseCapacity: number;
}

function readSpotConfig(
  field: Field,
  spot: boolean,
  instanceType: string | undefined,
  accelerator: NodeGroupAccelerator | undefined,
  note: Note,
): SpotConfigSpec | undefined {
  if (!field.isSet) return { instanceDistribution: [], onDemandBaseCapacity: 0 };
  if (!spot) {
    field.keyProblem('needs spot: true (as in Cortex): an on-demand node group has no spot configuration');
    return undefined;
  }
  const section = readSection(field, SPOT_CONFIG_KEYS);
  if (!section) return undefined;
  let valid = true;
  const distributionField = section.get('instance_distribution');
  const distribution: string[] = [];
  const items = readList(distributionField);
  if (!items) valid = false;
  for (const item of items ?? []) {
    const type = readInstanceType(item);
    if (type === undefined) {
      valid = false;
      continue;
    }
    const itemAccelerator = acceleratorOf(item, type);
    if (itemAccelerator === undefined) {
      valid = false;
      continue;
    }
    if (accelerator !== undefined && itemAccelerator !== accelerator) {
      item.problem(`must be of the same kind as instance_type ${describeValue(instanceType)} (${kindName(accelerator)}), got ${describeValue(type)} (${kindName(itemAccelerator)})`);
      valid = false;
      continue;
    }
    if (distribution.includes(type)) {
      item.problem(`${describeValue(type)} is listed twice`);
      valid = false;
      continue;
    }
    const architecture = instanceArchitecture(type);
    if (instanceType !== undefined && architecture !== instanceArchitecture(instanceType)) {
      item.problem(
        `must be of the architecture of instance_type ${describeValue(instanceType)} (${instanceArchitecture(instanceType)}: one AMI serves the group), ` +
          `got ${describeValue(type)} (${architecture})`,
      );
      valid = false;
      continue;
    }
    distribution.push(type);
  }
  const base = readInteger(section.get('on_demand_base_capacity'), { min: 0, default: 0 });
  const aboveField = section.get('on_demand_percentage_above_base_capacity');
  const above = readInteger(aboveField, { min: 0, max: 100, default: 0 });
  if (above !== undefined && above > 0) {
    aboveField.problem(
      `must be 0 here, got ${above}: an EKS managed node group is all spot or all on demand; the on-demand nodes are on_demand_base_capacity, ` +
        'a fixed-size on-demand group beside the spot one',
    );
    valid = false;
  }
  const maxPrice = section.get('max_price');
  if (maxPrice.isSet && readNumber(maxPrice, { min: 0, minExclusive: true }) !== undefined) {
    note(maxPrice, 'has no effect here: EKS managed spot node groups pay the spot price, which never exceeds the on-demand price (Cortex\'s default max_price)');
  } else if (maxPrice.isSet) {
    valid = false;
  }
  const pools = section.get('instance_pools');
  if (pools.isSet && readInteger(pools, { min: 1, max: 20 }) !== undefined) {
    note(pools, 'has no effect here: EKS managed spot node groups choose among all the listed instance types by capacity (price-capacity-optimized)');
  } else if (pools.isSet) {
    valid = false;
  }
  if (!valid || base === undefined || above === undefined) return undefined;
  return { instanceDistribution: distribution, onDemandBaseCapacity: base };
}

function kindName(accelerator: NodeGroupAccelerator): string {
  if (accelerator === NodeGroupAccelerator.NVIDIA) return 'NVIDIA GPU';
  if (accelerator === NodeGroupAccelerator.NEURON) return 'Inferentia/Trainium';
  return 'CPU';
}

function byPosition(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
}
