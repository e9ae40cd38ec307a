/**
 * Cortex's cluster.yaml as the way to configure the stack: `loadClusterConfig('cluster.yaml')` gives the props
 * {@link CortexStack} takes (all but `config`, the APIs).
 *
 * ```ts
 * const cluster = loadClusterConfig('cluster.yaml');
 * const stack = new CortexStack(app, 'Cortex', { ...cluster, config: loadConfigFile('cortex.yaml') });
 * applyClusterConfig(stack, cluster); // tags on what the nodes launch, notes as synth warnings
 * ```
 */
import * as fs from 'node:fs';
import { Annotations, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import { IConstruct } from 'constructs';
import { ConfigError, ConfigProblem } from '../config/errors';
import { NO_POSITIONS } from '../config/field-path';
import type { CortexStackProps } from '../cortex-stack';
import { CortexValidationError } from '../errors';
import { CustomNodeGroupOptions, NodeGroup, NodeGroupAccelerator } from '../node-group';
import { ClusterFileSpec, ClusterNodeGroupSpec, ClusterValidationResult, validateClusterValue } from './read';
import { formatClusterNote, validateClusterText } from './validate';

export {
  CLUSTER_FILE_KEYS,
  CLUSTER_NAME_TAG,
  CORTEX_IMAGE_KEYS,
  DEFAULT_CLUSTER_NAME,
  KNOWN_REGIONS,
  looksLikeClusterFile,
  VOLUME_TYPES,
} from './read';
export { formatClusterNote, isClusterFileText, validateClusterText } from './validate';
export type { ClusterEndpointSpec, ClusterFileSpec, ClusterNodeGroupSpec, ClusterValidationResult, VolumeType } from './read';

/** What a cluster.yaml configures: {@link CortexStackProps} less the APIs (`config`), and the file's notes. */
export interface ClusterConfig extends Omit<CortexStackProps, 'config'> {
  /** The stack's region (the file's `region`); no account: the one `cdk deploy` runs with. */
  readonly env: { readonly region: string };
  /**
   * IAM managed policies every API's role gets (the file's `iam_policy_arns`), for the stack's `apiPolicyArns`.
   * Empty when the file names none.
   */
  readonly apiPolicyArns: string[];
  /** The stack's tags (the file's `tags` and `cortex.dev/cluster-name`). */
  readonly tags: Record<string, string>;
  /** Fields accepted without effect here, each with why: show them (`annotateClusterNotes`). */
  readonly notes: readonly ConfigProblem[];
  /** The validated file, as read. */
  readonly spec: ClusterFileSpec;
}

/** The outcome of {@link validateClusterConfig}. */
export interface ClusterConfigResult {
  /** Set when there is no problem. */
  readonly config?: ClusterConfig;
  readonly problems: readonly ConfigProblem[];
  readonly notes: readonly ConfigProblem[];
}

/**
 * Validates a cluster.yaml's text without throwing: every problem at once, as
 * `FILE:LINE:COL: field: what is wrong, the value, what is allowed`. `file` names the file in messages.
 */
export function validateClusterConfig(text: string, file: string): ClusterConfigResult {
  return toResult(validateClusterText(text, file));
}

/**
 * Validates a value in cluster.yaml's shape built in code (snake_case keys), by the file's rules, without
 * throwing. Problems have no line.
 */
export function validateClusterObject(value: unknown, file = '<props>'): ClusterConfigResult {
  return toResult(validateClusterValue(value, file, NO_POSITIONS));
}

/** Reads and validates a cluster.yaml; throws a {@link ConfigError} with every problem found. */
export function loadClusterConfig(path: string): ClusterConfig {
  const result = readClusterConfigFile(path);
  if (!result.config) throw new ConfigError(result.problems);
  return result.config;
}

/** Reads and validates a cluster.yaml without throwing: a file that cannot be read is one problem, at line 0. */
export function readClusterConfigFile(path: string): ClusterConfigResult {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory; name the cluster.yaml file itself' : (e as Error).message;
    return { problems: [{ file: path, line: 0, column: 0, path: '', message: why }], notes: [] };
  }
  return validateClusterConfig(text, path);
}

/**
 * What props cannot carry, applied to the stack made with them: the file's tags on every taggable resource (the
 * props' `tags` become the stack's own, which CloudFormation copies to its resources but not to what those launch:
 * the nodes and their volumes get them through the launch templates this adds them to), and its notes as synth
 * warnings (`cortex-cdk:cluster-file-note`, each as {@link formatClusterNote} writes it).
 */
export function applyClusterConfig(scope: IConstruct, config: Pick<ClusterConfig, 'tags' | 'notes'>): void {
  for (const [key, value] of Object.entries(config.tags)) {
    Tags.of(scope).add(key, value);
  }
  for (const note of config.notes) {
    Annotations.of(scope).addWarningV2('cortex-cdk:cluster-file-note', formatClusterNote(note));
  }
}

function toResult(result: ClusterValidationResult): ClusterConfigResult {
  if (!result.spec) return { problems: result.problems, notes: result.notes };
  const problems: ConfigProblem[] = [];
  const config = toProps(result.spec, result.notes, problems);
  if (problems.length > 0) return { problems, notes: result.notes };
  return { config, problems: [], notes: result.notes };
}

/** The spec as CortexStack's props; a node group the constructs refuse (a rule the file's checks do not repeat) is a problem at its entry. */
function toProps(spec: ClusterFileSpec, notes: readonly ConfigProblem[], problems: ConfigProblem[]): ClusterConfig {
  const nodeGroups = spec.nodeGroups?.flatMap((group, index) => {
    try {
      return [nodeGroupFromClusterFile(group)];
    } catch (e) {
      if (!(e instanceof CortexValidationError)) throw e;
      problems.push({ file: spec.file, line: group.line, column: group.column, path: `node_groups[${index}]`, message: e.message });
      return [];
    }
  });
  const endpointAccess = spec.endpoint === undefined ? undefined : toEndpointAccess(spec.endpoint.privateOnly, spec.endpoint.publicCidrs);
  return {
    env: { region: spec.region },
    cluster: {
      clusterName: spec.clusterName,
      natGateways: spec.natGateways,
      ...(spec.vpcCidr !== undefined ? { vpcCidr: spec.vpcCidr } : {}),
      ...(spec.availabilityZones !== undefined ? { availabilityZones: [...spec.availabilityZones] } : {}),
      ...(endpointAccess !== undefined ? { endpointAccess } : {}),
    },
    ...(nodeGroups !== undefined ? { nodeGroups } : {}),
    platform: {
      gateway: {
        internetFacing: spec.internetFacing,
        ...(spec.loadBalancerSourceRanges !== undefined ? { loadBalancerSourceRanges: [...spec.loadBalancerSourceRanges] } : {}),
        ...(spec.sslCertificateArn !== undefined ? { sslCertificateArn: spec.sslCertificateArn } : {}),
      },
    },
    apiPolicyArns: [...spec.iamPolicyArns],
    tags: { ...spec.tags },
    notes,
    spec,
  };
}

function toEndpointAccess(privateOnly: boolean, publicCidrs: readonly string[] | undefined): eks.EndpointAccess {
  if (privateOnly) return eks.EndpointAccess.PRIVATE;
  return publicCidrs === undefined ? eks.EndpointAccess.PUBLIC_AND_PRIVATE : eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom(...publicCidrs);
}

/** A node group of the file as a {@link NodeGroup}: the factory of its accelerator, Cortex's sizes and volume. */
export function nodeGroupFromClusterFile(group: ClusterNodeGroupSpec): NodeGroup {
  const options: Omit<CustomNodeGroupOptions, 'amiType'> = {
    name: group.name,
    instanceTypes: group.instanceTypes.map((type) => new ec2.InstanceType(type)),
    minSize: group.minInstances,
    maxSize: group.maxInstances,
    priority: group.priority,
    diskSize: group.volumeSize,
    volumeType: volumeType(group.volumeType),
    ...(group.volumeIops !== undefined ? { volumeIops: group.volumeIops } : {}),
    ...(group.volumeThroughput !== undefined ? { volumeThroughput: group.volumeThroughput } : {}),
    spot: group.spot,
    ...(group.onDemandBaseCapacity > 0 ? { onDemandBaseCapacity: group.onDemandBaseCapacity } : {}),
  };
  switch (group.accelerator) {
    case NodeGroupAccelerator.NVIDIA:
      return NodeGroup.gpu(options);
    case NodeGroupAccelerator.NEURON:
      return NodeGroup.neuron(options);
    default:
      return NodeGroup.cpu(options);
  }
}

function volumeType(type: ClusterNodeGroupSpec['volumeType']): ec2.EbsDeviceVolumeType {
  switch (type) {
    case 'gp2':
      return ec2.EbsDeviceVolumeType.GP2;
    case 'io1':
      return ec2.EbsDeviceVolumeType.IO1;
    default:
      return ec2.EbsDeviceVolumeType.GP3;
  }
}
