import { validateClusterConfig } from '../../../lib/cluster-config';
import { looksLikeClusterFile } from '../../../lib/cluster-config/read';
import { NodeGroupAccelerator } from '../../../lib/node-group';
import { clusterNotes, clusterProblems, FULL_CLUSTER_YAML } from './cluster-fixtures';

const CREDENTIALS =
  'AWS credentials do not belong in cluster.yaml (its value is not shown here): cdk deploy and the cortex CLI use the AWS ' +
  'credential chain (AWS_PROFILE or AWS_ACCESS_KEY_ID in the environment, ~/.aws/credentials, SSO, or an instance or CI role); ' +
  'remove the key, and rotate the key if the file was shared';
const FAMILIES =
  'NVIDIA GPU families: g4dn, g5, g6, g6e, p4d, p4de, p5, p5e, p5en; Inferentia/Trainium families: inf2, trn1, trn1n, trn2; or a CPU instance type';

describe("Cortex's documented cluster.yaml, every field written", () => {
  const result = validateClusterConfig(FULL_CLUSTER_YAML, 'cluster.yaml');

  test('THEN it is valid, and every field is read as written', () => {
    expect(result.problems).toEqual([]);
    const spec = result.config!.spec;
    expect(spec).toMatchObject({
      clusterName: 'cortex-prod',
      region: 'us-west-2',
      availabilityZones: ['us-west-2a', 'us-west-2b'],
      natGateways: 2,
      internetFacing: false,
      loadBalancerSourceRanges: ['10.0.0.0/8', '2001:db8::/32'],
      endpoint: { privateOnly: false, publicCidrs: ['203.0.113.0/24'] },
      tags: { team: 'ml', 'cost-center': '1234', 'cortex.dev/cluster-name': 'cortex-prod' },
      iamPolicyArns: ['arn:aws:iam::aws:policy/AmazonS3FullAccess'],
      vpcCidr: '192.168.0.0/16',
    });
    expect(spec.nodeGroups!.map(({ line: _l, column: _c, ...group }) => group)).toEqual([
      {
        name: 'ng-cpu', instanceTypes: ['m5.large'], accelerator: NodeGroupAccelerator.NONE, minInstances: 2, maxInstances: 6, priority: 1,
        volumeSize: 60, volumeType: 'gp3', volumeIops: 6000, volumeThroughput: 250, spot: false, onDemandBaseCapacity: 0,
      },
      {
        name: 'ng-gpu', instanceTypes: ['g4dn.xlarge', 'g5.xlarge'], accelerator: NodeGroupAccelerator.NVIDIA, minInstances: 0, maxInstances: 4,
        priority: 20, volumeSize: 100, volumeType: 'io1', volumeIops: 4000, spot: true, onDemandBaseCapacity: 1,
      },
      {
        name: 'ng-inf', instanceTypes: ['inf2.xlarge'], accelerator: NodeGroupAccelerator.NEURON, minInstances: 0, maxInstances: 2, priority: 1,
        volumeSize: 50, volumeType: 'gp2', spot: false, onDemandBaseCapacity: 0,
      },
    ]);
  });

  test('THEN the fields without effect here are warnings, each at its key, saying why', () => {
    expect(clusterNotes(FULL_CLUSTER_YAML)).toEqual([
      "cluster.yaml:29:7: node_groups[1].spot_config.max_price: warning: has no effect here: EKS managed spot node groups pay the spot price, which never exceeds the on-demand price (Cortex's default max_price)",
      'cluster.yaml:30:7: node_groups[1].spot_config.instance_pools: warning: has no effect here: EKS managed spot node groups choose among all the listed instance types by capacity (price-capacity-optimized)',
      'cluster.yaml:49:1: prometheus_instance_type: warning: has no effect here: Prometheus runs on the CPU node groups (size them for it), not on a node group of its own',
      'cluster.yaml:50:1: telemetry: warning: has no effect here: cortex-cdk sends no telemetry',
      "cluster.yaml:51:1: image_operator: warning: has no effect here: Cortex's own images are not used; the platform installs upstream charts at the versions this release pins (each add-on takes a repository option in code, for a mirror)",
      "cluster.yaml:52:1: image_proxy: warning: has no effect here: Cortex's own images are not used; the platform installs upstream charts at the versions this release pins (each add-on takes a repository option in code, for a mirror)",
    ]);
  });
});

describe('defaults where the file is silent (Cortex v0.42 for node groups; least privilege and private subnets otherwise)', () => {
  const spec = validateClusterConfig('region: eu-west-1\nnode_groups:\n  - name: cpu\n    instance_type: m5.large\n', 'cluster.yaml').config!.spec;

  test('THEN cluster "cortex", one NAT gateway, internet-facing, any address, no policies, the cluster-name tag', () => {
    expect(spec).toEqual({
      file: 'cluster.yaml',
      clusterName: 'cortex',
      region: 'eu-west-1',
      nodeGroups: [expect.anything()],
      natGateways: 1,
      internetFacing: true,
      tags: { 'cortex.dev/cluster-name': 'cortex' },
      iamPolicyArns: [],
    });
  });

  test('THEN a node group of 1 to 5 nodes, priority 1, 50 GB gp3 at its baseline, on demand', () => {
    const { line: _l, column: _c, ...group } = spec.nodeGroups![0];
    expect(group).toEqual({
      name: 'cpu', instanceTypes: ['m5.large'], accelerator: NodeGroupAccelerator.NONE, minInstances: 1, maxInstances: 5, priority: 1,
      volumeSize: 50, volumeType: 'gp3', spot: false, onDemandBaseCapacity: 0,
    });
  });

  test('GIVEN io1 without IOPS THEN 50 per GiB, at most 3000 (as Cortex set it)', () => {
    const io1 = (size: number) =>
      validateClusterConfig(
        `region: us-east-1\nnode_groups:\n  - {name: cpu, instance_type: m5.large, instance_volume_type: io1, instance_volume_size: ${size}}\n`,
        'cluster.yaml',
      ).config!.spec.nodeGroups![0].volumeIops;
    expect([io1(20), io1(100)]).toEqual([1000, 3000]);
  });

  test('GIVEN no node_groups THEN none in the spec (the stack keeps its default groups)', () => {
    expect(validateClusterConfig('region: us-east-1\n', 'cluster.yaml').config!.spec.nodeGroups).toBeUndefined();
  });

  test('GIVEN a region of the right shape this version does not list THEN a warning, not a problem', () => {
    expect(clusterNotes('region: eu-east-7\n')).toEqual([
      'cluster.yaml:1:1: region: warning: "eu-east-7" is not a region this version knows to have EKS (us-east-1, us-east-2, us-west-1, us-west-2, ...): check its name',
    ]);
  });
});

describe('bad cluster.yaml files: every problem at once, each at its line and column', () => {
  test.each<[string, string, string[]]>([
    [
      'misspelt keys (did you mean) and a missing region',
      'cluster_name: cortex\nregoin: us-east-1\nnode_group:\n  - name: cpu\n    instance_type: m5.large\n',
      [
        'cluster.yaml:1:1: region: required',
        'cluster.yaml:2:1: regoin: unknown field "regoin"; did you mean "region"?',
        'cluster.yaml:3:1: node_group: unknown field "node_group"; did you mean "node_groups"?',
      ],
    ],
    [
      'wrong types',
      'cluster_name: 12345\nregion: us-east-1\nnode_groups:\n  - name: cpu\n    instance_type: m5.large\n    min_instances: "1"\n' +
        '    max_instances: 2.5\n    spot: yes\n    instance_volume_size: 10\ntags: [a, b]\n',
      [
        'cluster.yaml:1:15: cluster_name: must be a string, got 12345 (quote it: "12345")',
        'cluster.yaml:6:20: node_groups[0].min_instances: must be an integer >= 0, got "1"',
        'cluster.yaml:7:20: node_groups[0].max_instances: must be an integer >= 1, got 2.5',
        'cluster.yaml:8:11: node_groups[0].spot: must be true or false, got "yes"',
        'cluster.yaml:9:27: node_groups[0].instance_volume_size: must be an integer from 20 to 16384, got 10',
        'cluster.yaml:10:7: tags: must be a mapping of tag names to values, got a list',
      ],
    ],
    [
      'bad CIDR blocks',
      'region: us-east-1\napi_load_balancer_cidr_white_list: [203.0.113.0/24, 10.0.0.0/33, office]\n' +
        'operator_load_balancer_cidr_white_list: ["2001:db8::/32"]\nvpc_cidr: 10.0.0.0/8\n',
      [
        'cluster.yaml:2:53: api_load_balancer_cidr_white_list[1]: must be a CIDR block such as "203.0.113.0/24" or "2001:db8::/32", got "10.0.0.0/33"',
        'cluster.yaml:2:66: api_load_balancer_cidr_white_list[2]: must be a CIDR block such as "203.0.113.0/24" or "2001:db8::/32", got "office"',
        'cluster.yaml:3:42: operator_load_balancer_cidr_white_list[0]: must be an IPv4 CIDR block such as "203.0.113.0/24", got "2001:db8::/32"',
        'cluster.yaml:4:11: vpc_cidr: must have a prefix length from /16 to /24, got "10.0.0.0/8"',
      ],
    ],
    [
      'a VPC too small for its zones',
      'region: us-east-1\navailability_zones: [us-east-1a, us-east-1b, us-east-1c, us-east-1d]\nvpc_cidr: 10.0.0.0/24\n',
      [
        'cluster.yaml:3:11: vpc_cidr: is too small for a public and a private subnet in each of 4 zones, got "10.0.0.0/24": use a shorter prefix (/23 or less) or fewer zones',
      ],
    ],
    [
      'bad instance types: not a type, an unserved accelerated family, Inferentia1, a micro',
      'region: us-east-1\nnode_groups:\n  - name: cpu\n    instance_type: m5large\n  - name: amd\n    instance_type: g4ad.xlarge\n' +
        '  - name: old-inf\n    instance_type: inf1.xlarge\n  - name: tiny\n    instance_type: t3.micro\n',
      [
        'cluster.yaml:4:20: node_groups[0].instance_type: must be an EC2 instance type such as m5.large or g4dn.xlarge, got "m5large"',
        `cluster.yaml:6:20: node_groups[1].instance_type: "g4ad.xlarge" is an accelerated family this version does not serve; ${FAMILIES}`,
        `cluster.yaml:8:20: node_groups[2].instance_type: "inf1.xlarge" is an accelerated family this version does not serve (Inferentia1: use inf2, the generation the platform's Neuron setup serves); ${FAMILIES}`,
        "cluster.yaml:10:20: node_groups[3].instance_type: must be larger than micro (a node runs the kubelet, the VPC CNI and the platform's agents), got \"t3.micro\"",
      ],
    ],
    [
      'min_instances > max_instances',
      'region: us-east-1\nnode_groups:\n  - name: cpu\n    instance_type: m5.large\n    min_instances: 6\n    max_instances: 3\n',
      ['cluster.yaml:5:20: node_groups[0].min_instances: must be <= max_instances (3), got 6'],
    ],
    [
      'credentials keys (their values never shown)',
      'region: us-east-1\naws_access_key_id: AKIAIOSFODNN7EXAMPLE\naws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' +
        'cortex_aws_access_key_id: AKIAIOSFODNN7EXAMPLE\n',
      [
        `cluster.yaml:2:1: aws_access_key_id: ${CREDENTIALS}`,
        `cluster.yaml:3:1: aws_secret_access_key: ${CREDENTIALS}`,
        `cluster.yaml:4:1: cortex_aws_access_key_id: ${CREDENTIALS}`,
      ],
    ],
    [
      'duplicate node group names',
      'region: us-east-1\nnode_groups:\n  - name: cpu\n    instance_type: m5.large\n  - name: cpu\n    instance_type: m5.xlarge\n',
      ['cluster.yaml:5:11: node_groups[1].name: duplicate node group name "cpu" (also node_groups[0]); names must be unique'],
    ],
    [
      'a certificate of another region, and a policy name instead of an ARN',
      'region: us-east-1\nssl_certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/abc-123\n' +
        'iam_policy_arns: [AmazonS3FullAccess, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]\n',
      [
        "cluster.yaml:2:22: ssl_certificate_arn: must be a certificate of the cluster's region us-east-1 (a load balancer takes certificates of its own region only), got one of eu-west-1: request or import the certificate in us-east-1",
        'cluster.yaml:3:19: iam_policy_arns[0]: must be an IAM managed policy ARN: arn:aws:iam::aws:policy/NAME (AWS managed) or arn:aws:iam::ACCOUNT:policy/[PATH/]NAME (ACCOUNT: 12 digits; partition aws, aws-cn, aws-us-gov...), got "AmazonS3FullAccess"; a policy\'s name alone is written as its ARN, e.g. arn:aws:iam::aws:policy/AmazonS3FullAccess',
      ],
    ],
    [
      'an IAM server certificate where an ACM one belongs',
      'region: us-east-1\nssl_certificate_arn: arn:aws:iam::123456789012:server-certificate/x\n',
      [
        'cluster.yaml:2:22: ssl_certificate_arn: must be the ARN of an ACM certificate, "arn:aws:acm:<region>:<account>:certificate/<id>", got "arn:aws:iam::123456789012:server-certificate/x"',
      ],
    ],
    [
      'a misspelt region and a single zone',
      'region: us-east1\navailability_zones: [us-east-1a]\n',
      [
        'cluster.yaml:1:9: region: must be an AWS region such as us-east-1 or eu-west-1, got "us-east1"; did you mean us-east-1?',
        'cluster.yaml:2:21: availability_zones: must list at least 2 zones (EKS needs subnets in two), got 1',
      ],
    ],
    [
      'zones of another region, and one twice',
      'region: us-west-2\navailability_zones: [us-west-2a, us-east-1b, us-west-2a]\n',
      [
        'cluster.yaml:2:34: availability_zones[1]: must be an availability zone of region us-west-2 (us-west-2a, us-west-2b, ...), got "us-east-1b"',
        'cluster.yaml:2:46: availability_zones[2]: "us-west-2a" is listed twice (also [0])',
      ],
    ],
    [
      'subnets of an existing VPC (with vpc_cidr)',
      'region: us-west-2\nvpc_cidr: 192.168.0.0/16\nsubnets:\n  - availability_zone: us-west-2a\n    subnet_id: subnet-060f3961c876872ae\n' +
        '  - availability_zone: us-west-2b\n    subnet_id: subnet-0faed05adf6042ab7\n',
      [
        'cluster.yaml:3:1: subnets: not supported: an existing VPC is not named in cluster.yaml here: pass it in code as CortexClusterProps.vpc (ec2.Vpc.fromLookup with its ID), or leave subnets out and the stack creates the VPC (vpc_cidr, availability_zones)',
      ],
    ],
    [
      "Cortex's public defaults, a Classic Load Balancer, a bad scheme, a private endpoint with an allow-list",
      'region: us-east-1\nsubnet_visibility: public\nnat_gateway: none\napi_load_balancer_type: elb\napi_load_balancer_scheme: private\n' +
        'operator_load_balancer_scheme: internal\noperator_load_balancer_cidr_white_list: [0.0.0.0/0]\n',
      [
        'cluster.yaml:2:20: subnet_visibility: must be private here, got "public": nodes run in private subnets and reach the internet through a NAT gateway; public IPs on nodes would expose their ports to the internet behind security groups alone. Set private (or remove the field)',
        'cluster.yaml:3:14: nat_gateway: must be single or highly_available, got "none": the nodes run in private subnets and need a NAT gateway to pull images and reach AWS APIs',
        'cluster.yaml:4:25: api_load_balancer_type: must be nlb here, got "elb": the APIs gateway is behind a Network Load Balancer (Classic Load Balancers are retired); set nlb or remove the field',
        'cluster.yaml:5:27: api_load_balancer_scheme: must be one of internet-facing, internal, got "private"',
        'cluster.yaml:7:41: operator_load_balancer_cidr_white_list: must be left out with operator_load_balancer_scheme: internal: the EKS API endpoint is then private, with no public side to restrict',
      ],
    ],
    [
      'volume rules: gp3 IOPS without throughput, io1 IOPS over 50/GiB and throughput, st1, throughput over IOPS/4',
      'region: us-east-1\nnode_groups:\n  - name: cpu\n    instance_type: m5.large\n    instance_volume_type: gp3\n    instance_volume_iops: 4000\n' +
        '  - name: io\n    instance_type: m5.large\n    instance_volume_size: 20\n    instance_volume_type: io1\n    instance_volume_iops: 2000\n' +
        '    instance_volume_throughput: 200\n  - name: st\n    instance_type: m5.large\n    instance_volume_type: st1\n' +
        '  - name: fast\n    instance_type: m5.large\n    instance_volume_iops: 3000\n    instance_volume_throughput: 1000\n',
      [
        "cluster.yaml:3:5: node_groups[0].instance_volume_throughput: required with instance_volume_iops on gp3 (as Cortex required: both or neither; gp3's baseline is 3000 IOPS and 125 MiB/s)",
        'cluster.yaml:11:27: node_groups[1].instance_volume_iops: must be at most 50 per GiB of io1 (1000 for instance_volume_size 20), got 2000',
        'cluster.yaml:12:33: node_groups[1].instance_volume_throughput: applies to gp3 volumes only, got 200 with instance_volume_type io1',
        'cluster.yaml:15:27: node_groups[2].instance_volume_type: must be one of gp3, gp2, io1, got "st1": EBS does not boot an instance from st1 or sc1 volumes',
        'cluster.yaml:19:33: node_groups[3].instance_volume_throughput: must be at most a quarter of instance_volume_iops (750 for 3000), got 1000',
      ],
    ],
    [
      'spot rules: spot_config without spot, a CPU type among GPUs, a repeat, a percentage above base, a misspelt key',
      'region: us-east-1\nnode_groups:\n  - name: cpu\n    instance_type: m5.large\n    spot_config:\n      on_demand_base_capacity: 1\n' +
        '  - name: gpu\n    instance_type: g5.xlarge\n    max_instances: 2\n    spot: true\n    spot_config:\n' +
        '      instance_distribution: [m5.large, g6.xlarge, g6.xlarge]\n      on_demand_percentage_above_base_capacity: 50\n      max_prices: 1\n',
      [
        'cluster.yaml:5:5: node_groups[0].spot_config: needs spot: true (as in Cortex): an on-demand node group has no spot configuration',
        'cluster.yaml:12:31: node_groups[1].spot_config.instance_distribution[0]: must be of the same kind as instance_type "g5.xlarge" (NVIDIA GPU), got "m5.large" (CPU)',
        'cluster.yaml:12:52: node_groups[1].spot_config.instance_distribution[2]: "g6.xlarge" is listed twice',
        'cluster.yaml:13:49: node_groups[1].spot_config.on_demand_percentage_above_base_capacity: must be 0 here, got 50: an EKS managed node group is all spot or all on demand; the on-demand nodes are on_demand_base_capacity, a fixed-size on-demand group beside the spot one',
        'cluster.yaml:14:7: node_groups[1].spot_config.max_prices: unknown field "max_prices"; did you mean "max_price"?',
      ],
    ],
    [
      'an on-demand base that leaves the spot group no node',
      'region: us-east-1\nnode_groups:\n  - name: cpu\n    instance_type: m5.large\n    max_instances: 2\n    spot: true\n' +
        '    spot_config:\n      on_demand_base_capacity: 2\n',
      ['cluster.yaml:8:32: node_groups[0].spot_config.on_demand_base_capacity: must be < max_instances (2), so that the spot group can hold at least one node, got 2'],
    ],
    [
      'no CPU node group to run the platform',
      'region: us-east-1\nnode_groups:\n  - name: gpu\n    instance_type: g5.xlarge\n',
      [
        'cluster.yaml:3:3: node_groups: must have a CPU node group with min_instances >= 1: CoreDNS and the platform (Istio, KEDA, Prometheus, the cluster-autoscaler) run there and do not tolerate the GPU/Neuron taints; got gpu (g5.xlarge, min 1)',
      ],
    ],
    [
      'instance types of two architectures in one group',
      'region: us-east-1\nnode_groups:\n  - name: cpu\n    instance_type: m5.large\n    spot: true\n    spot_config:\n      instance_distribution: [m6g.large]\n',
      [
        'cluster.yaml:7:31: node_groups[0].spot_config.instance_distribution[0]: must be of the architecture of instance_type "m5.large" (x86_64: one AMI serves the group), got "m6g.large" (arm64)',
      ],
    ],
    [
      'reserved and malformed tags',
      'cluster_name: prod\nregion: us-east-1\ntags:\n  aws:owner: me\n  cortex.dev/cluster-name: other\n  cortex.dev/team: ml\n' +
        '  "bad#key": x\n  owner: 42\n  empty: ""\n',
      [
        'cluster.yaml:4:3: tags.aws:owner: tag name "aws:owner" must not start with "aws:" (reserved for AWS, Kubernetes and eksctl)',
        'cluster.yaml:5:3: tags.cortex.dev/cluster-name: tag cortex.dev/cluster-name is set to the cluster\'s name ("prod") and cannot be changed, got "other"',
        'cluster.yaml:6:3: tags.cortex.dev/team: tag name "cortex.dev/team" must not start with "cortex.dev/" (reserved for the stack\'s own tags)',
        'cluster.yaml:7:3: tags.bad#key: tag name "bad#key" may hold only letters, digits, spaces and _ . : / = + - @',
        'cluster.yaml:8:10: tags.owner: must be a string, got 42 (quote it: "42")',
        'cluster.yaml:9:10: tags.empty: tag value must be 1 to 255 characters, got ""',
      ],
    ],
    [
      "a cluster name Cortex would refuse, and Cortex's own managed fields",
      'cluster_name: My_Cluster\nregion: us-east-1\nbucket: cortex-1234\ncortex_policy_arn: arn:aws:iam::123456789012:policy/cortex\n',
      [
        'cluster.yaml:1:15: cluster_name: must be 3 to 54 lowercase letters, digits and single "-" between them (as Cortex required), got "My_Cluster"',
        "cluster.yaml:3:1: bucket: not supported: Cortex's operator set it; the stack keeps no bucket of its own: remove it",
        "cluster.yaml:4:1: cortex_policy_arn: not supported: Cortex's operator set it; the stack makes the roles it needs: remove it",
      ],
    ],
    ['an empty file', '', ['cluster.yaml:1:1: the file is empty; a cluster.yaml is a mapping with at least region (see docs/cluster.md)']],
    ['broken YAML', 'region: [us-east-1\n', ['cluster.yaml:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]']],
  ])('GIVEN %s THEN exactly these problems', (_, yaml, expected) => {
    expect(clusterProblems(yaml)).toEqual(expected);
  });

  test('a credential value never appears in any message', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const lines = clusterProblems(`region: us-east-1\naws_secret_access_key: ${secret}\n`);
    expect(lines).toHaveLength(1);
    expect(lines.join('\n')).not.toContain(secret);
  });
});

describe('looksLikeClusterFile: how validate tells a cluster.yaml from a cortex.yaml', () => {
  test.each<[string, unknown, boolean]>([
    ['a cluster.yaml', { cluster_name: 'cortex', region: 'us-east-1' }, true],
    ['a cluster.yaml with only misspelt keys', { regoin: 'us-east-1' }, true],
    ['only credentials', { aws_access_key_id: 'x' }, true],
    ['a cortex.yaml (a list)', [{ name: 'iris', kind: 'RealtimeAPI' }], false],
    ['one API not in a list', { name: 'iris', kind: 'RealtimeAPI' }, false],
    ['nothing', null, false],
  ])('%s → %p', (_, value, expected) => {
    expect(looksLikeClusterFile(value)).toBe(expected);
  });
});
