/** The name formats Kubernetes imposes, which the config's names end up in. */

/** DNS-1035 label: what API names become (Service and Deployment names). */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1123 label: container names and node-group names. */
export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1123 subdomain: the names of Secrets and ConfigMaps (at most {@link MAX_DNS_SUBDOMAIN_LENGTH}). */
export const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const MAX_DNS_SUBDOMAIN_LENGTH = 253;
/** Kubernetes' rule for environment variable names. */
export const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** At most 42 characters: Kubernetes appends up to 21 to pod names and truncates past 63. */
export const MAX_API_NAME_LENGTH = 42;
export const MAX_DNS_LABEL_LENGTH = 63;

/**
 * DNS-1035 labels an API cannot be named: API names are construct ids (of the API's chart and construct), and
 * the constructs library keeps a construct's children in a plain object, where `constructor` is always taken.
 */
export const RESERVED_API_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype).filter((name) => DNS_1035_LABEL.test(name));

export const DNS_1035_RULE = 'lower-case letters, digits and "-", starting with a letter and not ending with "-"';
export const DNS_1123_RULE = 'lower-case letters, digits and "-", starting and ending with a letter or digit';
export const DNS_1123_SUBDOMAIN_RULE =
  'a DNS-1123 subdomain: at most 253 lower-case letters, digits, "-" and ".", each "."-separated part starting and ending with a letter or digit';
