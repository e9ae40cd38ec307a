import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-30';
import { Construct } from 'constructs';
import { objectLabels } from './names';

/**
 * What an API's own ServiceAccount's name ends with. Not the API's name alone: an API named `default` would
 * then be the namespace's `default` ServiceAccount, which Kubernetes creates and a manifest's `kubectl create`
 * would collide with.
 */
export const SERVICE_ACCOUNT_SUFFIX = '-sa';

/**
 * The ServiceAccount an API's pods run as, `<api>-sa`, in the API's namespace. The EKS Pod Identity
 * association of the API's IAM role names exactly this namespace and name (lib/realtime-api.ts reads both from
 * the chart), so the pods, and only they, get the role's credentials.
 */
export function apiServiceAccountName(apiName: string): string {
  return `${apiName}${SERVICE_ACCOUNT_SUFFIX}`;
}

/** Props of {@link ApiServiceAccount}. */
export interface ApiServiceAccountProps {
  /** The API's name. */
  readonly apiName: string;
  /** The namespace of the API's objects. */
  readonly namespace: string;
}

/**
 * An API's own ServiceAccount. `automountServiceAccountToken: false`: nothing in an API's pod calls the
 * Kubernetes API (the proxy and the Python runtime never do), so its pods get no Kubernetes token. AWS
 * credentials do not need one: the EKS Pod Identity webhook adds a projected token of its own (audience
 * `pods.eks.amazonaws.com`) to the pods of a ServiceAccount that has an association, whatever this field says.
 */
export class ApiServiceAccount extends Construct {
  /** The ServiceAccount's name, `<api>-sa`. */
  public readonly name: string;
  public readonly namespace: string;
  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: ApiServiceAccountProps) {
    super(scope, id);
    this.name = apiServiceAccountName(props.apiName);
    this.namespace = props.namespace;
    this.apiObject = new k8s.KubeServiceAccount(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace, labels: objectLabels(props.apiName, 'RealtimeAPI') },
      automountServiceAccountToken: false,
    });
  }
}
