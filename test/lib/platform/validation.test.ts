import { Token } from 'aws-cdk-lib';
import {
  RESERVED_NAMESPACES,
  checkAddonVersion,
  checkApisNamespace,
  checkCertificateArn,
  checkChartVersion,
  checkCidr,
  checkDomainName,
  checkKubernetesMinor,
  checkMinimumVersion,
  checkNodeGroupPriorities,
  checkPrometheusDuration,
  parseVersion,
} from '../../../lib/platform/validation';
import { CortexValidationError } from '../../../lib/errors';

const token = Token.asString({ Ref: 'Something' });

describe('checkApisNamespace', () => {
  test.each(['cortex', 'models-prod', 'a'])('accepts %s', (ns) => {
    expect(() => checkApisNamespace('namespace', ns)).not.toThrow();
  });

  test('rejects a name that is not a DNS-1123 label, naming the prop and value', () => {
    expect(() => checkApisNamespace('namespace', 'Cortex_APIs')).toThrow(CortexValidationError);
    expect(() => checkApisNamespace('namespace', 'Cortex_APIs')).toThrow(/namespace \("Cortex_APIs"\) must be a DNS-1123 label/);
  });

  test.each(RESERVED_NAMESPACES)('rejects the reserved namespace %s', (ns) => {
    expect(() => checkApisNamespace('namespace', ns)).toThrow(
      new RegExp(`namespace \\("${ns}"\\) must not be one of .*kube-system.*deleting the stack deletes it`),
    );
  });

  test('lets tokens through', () => {
    expect(() => checkApisNamespace('namespace', token)).not.toThrow();
  });
});

describe('checkChartVersion', () => {
  test.each(['1.30.3', 'v0.20.0', '2.20.2', '1.0.0-rc.1', '1.2.3+build.4'])('accepts %s', (v) => {
    expect(() => checkChartVersion('keda.version', v)).not.toThrow();
  });

  test.each(['latest', '^2.20.0', '~1.30', '2.20', '', '>=1.0.0'])('rejects %j', (v) => {
    expect(() => checkChartVersion('keda.version', v)).toThrow(
      new RegExp(`keda\\.version \\(${JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\) must be an exact chart version`),
    );
  });
});

describe('checkAddonVersion', () => {
  test('accepts an EKS add-on version', () => {
    expect(() => checkAddonVersion('cloudWatchObservability.addonVersion', 'v4.1.0-eksbuild.1')).not.toThrow();
  });

  test.each(['4.1.0', 'latest', 'v4.1.0'])('rejects %s', (v) => {
    expect(() => checkAddonVersion('cloudWatchObservability.addonVersion', v)).toThrow(
      /cloudWatchObservability\.addonVersion \(".*"\) must be an EKS add-on version such as "v4\.1\.0-eksbuild\.1"/,
    );
  });
});

describe('checkMinimumVersion', () => {
  test.each(['1.22.0', '1.30.3', 'v2.0.0', '1.22.1-rc.0'])('accepts %s >= 1.22.0', (v) => {
    expect(() => checkMinimumVersion('istio.version', v, '1.22.0', 'why')).not.toThrow();
  });

  test.each(['1.21.9', '0.99.0', '1.9.0'])('rejects %s < 1.22.0, saying why', (v) => {
    expect(() => checkMinimumVersion('istio.version', v, '1.22.0', 'v1 objects')).toThrow(
      `istio.version ("${v}") must be 1.22.0 or newer: v1 objects`,
    );
  });

  test('parseVersion reads major, minor, patch', () => {
    expect(parseVersion('v1.30.3-rc.1')).toEqual([1, 30, 3]);
    expect(parseVersion('latest')).toBeUndefined();
  });
});

describe('checkCidr', () => {
  test.each(['0.0.0.0/0', '10.0.0.0/8', '203.0.113.7/32', '2001:db8::/32', '::/0', '2001:db8:0:0:0:0:0:1/128'])(
    'accepts %s',
    (cidr) => {
      expect(() => checkCidr('gateway.loadBalancerSourceRanges[0]', cidr)).not.toThrow();
    },
  );

  test.each(['10.0.0.0', '256.0.0.0/8', '10.0.0.0/33', 'office', '2001:db8::/129', '1:2:3:4:5:6:7/64', '1::2::3/64'])(
    'rejects %s',
    (cidr) => {
      expect(() => checkCidr('gateway.loadBalancerSourceRanges[0]', cidr)).toThrow(
        /gateway\.loadBalancerSourceRanges\[0\] \(".*"\) must be a CIDR block/,
      );
    },
  );
});

describe('checkCertificateArn', () => {
  const arn = (partition: string, region: string) =>
    `arn:${partition}:acm:${region}:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789`;

  test.each([
    [arn('aws', 'eu-west-1'), 'eu-west-1'],
    [arn('aws-us-gov', 'us-gov-west-1'), 'us-gov-west-1'],
    [arn('aws-cn', 'cn-north-1'), 'cn-north-1'],
    [arn('aws', 'ap-southeast-1'), token],
    [token, 'eu-west-1'],
  ])('accepts %s in %s', (value, region) => {
    expect(() => checkCertificateArn('gateway.sslCertificateArn', value, region)).not.toThrow();
  });

  test.each([
    'arn:aws:iam::123456789012:server-certificate/api',
    'arn:aws:acm:eu-west-1:1234:certificate/x',
    '0a1b2c3d-4e5f-6789-abcd-ef0123456789',
    'arn:aws:acm:eu-west-1:123456789012:certificate/',
  ])('rejects %s, saying what an ACM certificate ARN looks like', (value) => {
    expect(() => checkCertificateArn('gateway.sslCertificateArn', value, 'eu-west-1')).toThrow(
      /gateway\.sslCertificateArn \(".*"\) must be the ARN of an ACM certificate, "arn:aws:acm:<region>:<account>:certificate\/<id>"/,
    );
  });

  test("rejects a certificate of another region than the stack's, naming both", () => {
    expect(() => checkCertificateArn('gateway.sslCertificateArn', arn('aws', 'us-east-1'), 'eu-west-1')).toThrow(
      /is a certificate of us-east-1, but the stack deploys to eu-west-1: a load balancer takes ACM certificates of its own region only/,
    );
  });
});

describe('checkDomainName', () => {
  test.each(['api.example.com', 'a.b', 'models-1.eu.example.co.uk', token])('accepts %s', (value) => {
    expect(() => checkDomainName('gateway.domainName', value)).not.toThrow();
  });

  test.each(['example', 'https://api.example.com', 'api.example.com:443', 'api.example.com/v1', 'API.example.com', '-a.example.com', 'a..b', `${'a'.repeat(64)}.com`])(
    'rejects %s',
    (value) => {
      expect(() => checkDomainName('gateway.domainName', value)).toThrow(/gateway\.domainName \(".*"\) must be a host name such as "api\.example\.com"/);
    },
  );
});

describe('checkPrometheusDuration', () => {
  test.each(['2d', '12h', '1w', '1d12h', '90m', '1y'])('accepts %s', (d) => {
    expect(() => checkPrometheusDuration('prometheus.retention', d)).not.toThrow();
  });

  test.each(['2 days', '2', 'd2', '1.5d', ''])('rejects %j', (d) => {
    expect(() => checkPrometheusDuration('prometheus.retention', d)).toThrow(
      /prometheus\.retention \(".*"\) must be a Prometheus duration/,
    );
  });
});

describe('checkNodeGroupPriorities', () => {
  test('accepts EKS node group names and priorities >= 0', () => {
    expect(() => checkNodeGroupPriorities('p', { cpu: 0, 'gpu-spot': 50, Inf_2: 100 })).not.toThrow();
  });

  test('rejects a name EKS would not take', () => {
    expect(() => checkNodeGroupPriorities('clusterAutoscaler.nodeGroupPriorities', { 'gpu.large': 1 })).toThrow(
      /clusterAutoscaler\.nodeGroupPriorities has a node group name "gpu\.large": an EKS node group name is/,
    );
    expect(() => checkNodeGroupPriorities('p', { ['a'.repeat(64)]: 1 })).toThrow(/at most 63/);
  });

  test.each([-1, 1.5, Number.NaN])('rejects the priority %s', (priority) => {
    expect(() => checkNodeGroupPriorities('clusterAutoscaler.nodeGroupPriorities', { gpu: priority })).toThrow(
      `clusterAutoscaler.nodeGroupPriorities["gpu"] (${priority}) must be an integer >= 0`,
    );
  });
});

describe('checkKubernetesMinor', () => {
  test('accepts a minor', () => {
    expect(() => checkKubernetesMinor('kubernetesVersion', '1.36')).not.toThrow();
  });

  test.each(['1.36.2', 'v1.36', '2.0'])('rejects %s', (v) => {
    expect(() => checkKubernetesMinor('kubernetesVersion', v)).toThrow(
      `kubernetesVersion ("${v}") must be a Kubernetes minor version such as "1.36"`,
    );
  });
});
