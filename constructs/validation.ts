import { CortexValidationError } from '../lib/config/errors';

/**
 * Pure checks of chart props. Each throws a CortexValidationError whose message names the prop,
 * the value received and what is allowed.
 */

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Whether a string holds an unresolved AWS CDK token (`${Token[...]}`): the CDK half may pass one (an
 * image asset's URI); its value is only known at deploy time, so it is not checked here.
 */
export function isUnresolvedToken(value: string): boolean {
  return value.includes('${Token[');
}

/** A Kubernetes namespace (or other DNS-1123 label): lowercase alphanumerics and "-", at most 63 characters. */
export function checkDns1123Label(prop: string, value: string): void {
  if (isUnresolvedToken(value)) {
    return;
  }
  if (value.length > 63 || !DNS_1123_LABEL.test(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be a DNS-1123 label: at most 63 lowercase letters, digits ` +
        `and "-", starting and ending with a letter or digit`,
    );
  }
}

/** A DNS-1123 subdomain (a service account's name...): dot-separated labels, at most 253 characters. */
export function checkDns1123Subdomain(prop: string, value: string): void {
  if (isUnresolvedToken(value)) {
    return;
  }
  if (value.length > 253 || !DNS_1123_SUBDOMAIN.test(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be a DNS-1123 subdomain: at most 253 characters of dot-separated ` +
        `lowercase letters, digits and "-", each part starting and ending with a letter or digit`,
    );
  }
}

/**
 * An API or splitter name: a DNS-1035 label short enough for the longest derived name
 * (`<name>-predictor`) to stay a valid object name.
 */
export function checkApiName(prop: string, value: string): void {
  if (isUnresolvedToken(value)) {
    return;
  }
  const maxLength = 63 - '-predictor'.length;
  if (value.length > maxLength || !DNS_1035_LABEL.test(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be a DNS-1035 label of at most ${maxLength} characters: ` +
        `lowercase letters, digits and "-", starting with a letter and ending with a letter or digit`,
    );
  }
}

/** An image reference: non-empty, no whitespace. CDK tokens (`${Token[...]}`) pass. */
export function checkImage(prop: string, value: string): void {
  if (isUnresolvedToken(value)) {
    return;
  }
  if (value.trim() === '' || /\s/.test(value)) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be a non-empty image reference without whitespace, ` +
        `e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com/proxy:1.0"`,
    );
  }
}

/** A non-empty string without whitespace (a scheduler name, a service account...). */
export function checkName(prop: string, value: string): void {
  if (isUnresolvedToken(value)) {
    return;
  }
  if (value.trim() === '' || /\s/.test(value)) {
    throw new CortexValidationError(`${prop} (${JSON.stringify(value)}) must be a non-empty name without whitespace`);
  }
}

/** An absolute http(s) URL. */
export function checkHttpUrl(prop: string, value: string): void {
  if (isUnresolvedToken(value)) {
    return;
  }
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new CortexValidationError(
      `${prop} (${JSON.stringify(value)}) must be an absolute http:// or https:// URL, ` +
        `e.g. "http://prometheus-server.prometheus.svc.cluster.local"`,
    );
  }
}

/** An integer in [min, max]. */
export function checkIntegerInRange(prop: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CortexValidationError(`${prop} (${value}) must be an integer from ${min} to ${max}`);
  }
}
