import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-30';
import { Construct } from 'constructs';
import { API_NAMESPACE_LABEL, APIS_GATEWAY, APIS_GATEWAY_LOAD_BALANCER, objectLabels } from './names';

/**
 * What an API's pods may read with `read_apis: true`, and nothing more: what `cortex get` and the Python client's
 * `get_api` / `list_apis` read. In the API's namespace: the APIs' Deployments (replicas, rollout), their pods
 * (why one does not serve) and their VirtualServices (endpoint paths); in the gateway's namespace, the two
 * Services whose load balancer address makes the endpoint URLs. Read-only: get, list, watch.
 */
export const READ_APIS_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['get', 'list', 'watch'] },
];

const [GATEWAY_NAMESPACE, GATEWAY_SERVICE] = APIS_GATEWAY_LOAD_BALANCER.split('/');

/** In the gateway's namespace, only the two Services by name: `get` (a list cannot be limited to names). */
export const READ_GATEWAY_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['services'], resourceNames: [GATEWAY_SERVICE, APIS_GATEWAY.split('/')[1]], verbs: ['get'] },
];

/** `<api>-read-apis`: the Role and RoleBinding in the API's namespace. */
export function readApisRoleName(apiName: string): string {
  return `${apiName}-read-apis`;
}

/**
 * `<api>.<namespace>-read-apis`: the Role and RoleBinding in the gateway's namespace, which the APIs of every
 * namespace share (neither an API's name nor a namespace holds a ".", so no two APIs' names meet).
 */
export function readGatewayRoleName(apiName: string, namespace: string): string {
  return `${apiName}.${namespace}-read-apis`;
}

/** Props of {@link ReadApisRbac}. */
export interface ReadApisRbacProps {
  readonly apiName: string;
  /** The API's namespace. */
  readonly namespace: string;
  /** The ServiceAccount the API's pods run as, in `namespace`. */
  readonly serviceAccountName: string;
}

/**
 * `read_apis: true`: a Role and RoleBinding for the API's ServiceAccount in the API's namespace ({@link READ_APIS_RULES})
 * and in the gateway's ({@link READ_GATEWAY_RULES}). The pod template mounts the ServiceAccount token only then.
 */
export class ReadApisRbac extends Construct {
  public readonly role: ApiObject;
  public readonly roleBinding: ApiObject;
  public readonly gatewayRole: ApiObject;
  public readonly gatewayRoleBinding: ApiObject;

  constructor(scope: Construct, id: string, props: ReadApisRbacProps) {
    super(scope, id);
    const labels = objectLabels(props.apiName, 'RealtimeAPI');
    const subjects = [{ kind: 'ServiceAccount', name: props.serviceAccountName, namespace: props.namespace }];
    const name = readApisRoleName(props.apiName);
    this.role = new k8s.KubeRole(this, 'Role', { metadata: { name, namespace: props.namespace, labels }, rules: [...READ_APIS_RULES] });
    this.roleBinding = new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name, namespace: props.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects,
    });
    const gatewayName = readGatewayRoleName(props.apiName, props.namespace);
    const gatewayLabels = { ...labels, [API_NAMESPACE_LABEL]: props.namespace };
    this.gatewayRole = new k8s.KubeRole(this, 'GatewayRole', {
      metadata: { name: gatewayName, namespace: GATEWAY_NAMESPACE, labels: gatewayLabels },
      rules: [...READ_GATEWAY_RULES],
    });
    this.gatewayRoleBinding = new k8s.KubeRoleBinding(this, 'GatewayRoleBinding', {
      metadata: { name: gatewayName, namespace: GATEWAY_NAMESPACE, labels: gatewayLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: gatewayName },
      subjects,
    });
  }
}
