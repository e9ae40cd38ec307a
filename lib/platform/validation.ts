import { Token } from 'aws-cdk-lib';
import { checkDns1123Label } from '../../constructs/validation';
import { CortexValidationError } from '../errors';

/**
 * Pure checks of the platform's props. Each throws a CortexValidationError whose message names the
 * prop, the value received and what is allowed; unresolved CDK tokens pass (their values are only
 * known at deploy time).
 */

const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const EKS_ADDON_VERSION = /^v\d+\.\d+\.\d+-eksbuild\.\d+$/;
const PROMETHEUS_DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const EKS_NODEGROUP_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]*$/;
const KUBERNETES_MINOR = /^1\.\d+$/;

/**
 * Namespaces the APIs may not take: Kubernetes' own and the add-ons'. The platform creates the APIs'
 * namespace as a manifest of its own, which deleting the stack deletes with everything in it.
 */
export const RESERVED_NAMESPACES: readonly string[] = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'istio-system',
  'keda',
  'prometheus',
  'amazon-cloudwatch',
];

/** The APIs' namespace: a DNS-1123 label that is none of {@link RESERVED_NAMESPACES}. */
export function checkApisNamespace(prop: string, value: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  checkDns1123Label(prop, value);
  if (RESERVED_NAMESPACES.includes(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must not be one of ${RESERVED_NAMESPACES.join(', ')}: the platform ` +
        `creates the APIs' namespace and deleting the stack deletes it`,
    );
  }
}

/** An exact chart version (`1.30.3`, `v0.20.0`): the platform pins what it installs, so no Helm ranges. */
export function checkChartVersion(prop: string, value: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  if (!EXACT_VERSION.test(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be an exact chart version such as "1.2.3", not a range or a tag`,
    );
  }
}

/** An EKS add-on version as `aws eks describe-addon-versions` lists them: `v4.1.0-eksbuild.1`. */
export function checkAddonVersion(prop: string, value: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  if (!EKS_ADDON_VERSION.test(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be an EKS add-on version such as "v4.1.0-eksbuild.1"`,
    );
  }
}

/** `[major, minor, patch]` of `1.2.3`/`v1.2.3-rc.0`; undefined for anything else. */
export function parseVersion(value: string): [number, number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(value);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** A version at least `minimum` (both `x.y.z`); `why` says what needs it. */
export function checkMinimumVersion(prop: string, value: string, minimum: string, why: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  const got = parseVersion(value);
  const min = parseVersion(minimum);
  if (got === undefined || min === undefined) {
    return;
  }
  for (let i = 0; i < 3; i++) {
    if (got[i] !== min[i]) {
      if (got[i] < min[i]) {
        throw new CortexValidationError(`${prop} (${JSON.stringify(value)}) must be ${minimum} or newer: ${why}`);
      }
      return;
    }
  }
}

/** An IPv4 (`10.0.0.0/8`) or IPv6 (`2001:db8::/32`) CIDR block. */
export function checkCidr(prop: string, value: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  if (!isIpv4Cidr(value) && !isIpv6Cidr(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be a CIDR block such as "203.0.113.0/24" or "2001:db8::/32"`,
    );
  }
}

function isIpv4Cidr(value: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!match) {
    return false;
  }
  const octets = match.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) && Number(match[5]) <= 32;
}

function isIpv6Cidr(value: string): boolean {
  const match = /^([0-9A-Fa-f:]+)\/(\d{1,3})$/.exec(value);
  if (!match || Number(match[2]) > 128) {
    return false;
  }
  const address = match[1];
  const halves = address.split('::');
  if (halves.length > 2) {
    return false;
  }
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) {
    return false;
  }
  return halves.length === 2 ? groups.length < 8 : groups.length === 8;
}

const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:certificate\/[0-9A-Za-z-]+$/;

/**
 * An ACM certificate ARN (`arn:aws:acm:us-east-1:123456789012:certificate/<id>`), of `region` when both are known:
 * a load balancer takes certificates of its own region only.
 */
export function checkCertificateArn(prop: string, value: string, region: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  const match = ACM_CERTIFICATE_ARN.exec(value);
  if (!match) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be the ARN of an ACM certificate, ` +
        '"arn:aws:acm:<region>:<account>:certificate/<id>"',
    );
  }
  if (!Token.isUnresolved(region) && match[1] !== region) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) is a certificate of ${match[1]}, but the stack deploys to ${region}: a load ` +
        `balancer takes ACM certificates of its own region only; request or import the certificate in ${region}`,
    );
  }
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A fully qualified host name (`api.example.com`): lowercase DNS labels of at most 63 characters, 253 in all. */
export function checkDomainName(prop: string, value: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  const labels = value.split('.');
  if (value.length > 253 || labels.length < 2 || !labels.every((label) => DNS_LABEL.test(label))) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be a host name such as "api.example.com": lowercase letters, digits and ` +
        '"-" in dot-separated labels of at most 63 characters, no scheme, port or path',
    );
  }
}

/** A Prometheus duration (`2d`, `12h`, `1w`, `1d12h`), as `--storage.tsdb.retention.time` takes it. */
export function checkPrometheusDuration(prop: string, value: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  if (!PROMETHEUS_DURATION.test(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be a Prometheus duration: a number and a unit among ms, s, m, h, d, w, y, ` +
        `e.g. "2d" or "1d12h"`,
    );
  }
}

/**
 * Node group name → priority for the cluster autoscaler's priority expander: EKS node group names
 * (letters, digits, "-" and "_", at most 63 characters) and integer priorities from 0 (higher wins).
 */
export function checkNodeGroupPriorities(prop: string, priorities: Readonly<Record<string, number>>): void {
  for (const [name, priority] of Object.entries(priorities)) {
    if (!Token.isUnresolved(name) && (name.length > 63 || !EKS_NODEGROUP_NAME.test(name))) {
      throw new CortexValidationError(
        `${prop} has a node group name ${JSON.stringify(name)}: an EKS node group name is at most 63 letters, ` +
          `digits, "-" and "_", starting with a letter or digit`,
      );
    }
    if (!Token.isUnresolved(priority) && (!Number.isInteger(priority) || priority < 0)) {
      throw new CortexValidationError(
        `${prop}[${JSON.stringify(name)}] (${priority}) must be an integer >= 0 (the higher, the sooner the group scales up)`,
      );
    }
  }
}

/** A Kubernetes minor, `1.36`. */
export function checkKubernetesMinor(prop: string, value: string): void {
  if (!KUBERNETES_MINOR.test(value)) {
    throw new CortexValidationError(`${prop} (${JSON.stringify(value)}) must be a Kubernetes minor version such as "1.36"`);
  }
}
