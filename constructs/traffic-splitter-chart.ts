import { ApiObject, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { CortexValidationError } from '../lib/config/errors';
import type { TrafficSplitterSpec } from '../lib/config/types';
import { GatewayJwt } from './auth';
import { VirtualService } from './imports/networking.istio.io';
import { DEFAULT_NAMESPACE, objectLabels } from './names';
import { gatewayVirtualServiceSpec, mirrorTo, routeTo } from './routing';
import { checkApiName, checkDns1123Label } from './validation';

/** Props of {@link TrafficSplitterChart}. */
export interface TrafficSplitterChartProps extends ChartProps {
  /** The validated TrafficSplitter. Its targets are RealtimeAPIs of the same namespace. */
  readonly splitter: TrafficSplitterSpec;
  /**
   * The namespace of the VirtualService and of the target APIs.
   * @default 'cortex'
   */
  readonly namespace?: string;
}

/**
 * A TrafficSplitter: one Istio VirtualService on the APIs gateway at the splitter's endpoint, with
 * the same matches, rewrite, timeout and no-retry policy as an API's, routing to the target APIs'
 * Services by weight, and copying `weight`% of the requests to the shadow target (Istio `mirror`:
 * the shadow's answers are dropped); with `networking.auth.jwt`, the gateway's token check on its endpoint.
 */
export class TrafficSplitterChart extends Chart {
  public readonly splitter: TrafficSplitterSpec;
  public readonly namespace: string;
  public readonly virtualService: ApiObject;
  /**
   * `networking.auth.jwt`'s RequestAuthentication and AuthorizationPolicy, in the gateway's namespace: the
   * splitter's endpoint is a path of its own, checked on its own (its targets' checks are on their paths).
   */
  public readonly gatewayJwt?: GatewayJwt;

  constructor(scope: Construct, id: string, props: TrafficSplitterChartProps) {
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    super(scope, id, { ...props, namespace });
    this.splitter = props.splitter;
    this.namespace = namespace;

    checkApiName('splitter.name', this.splitter.name);
    checkDns1123Label('namespace', namespace);
    const targets = this.splitter.apis.filter((t) => !t.shadow);
    const shadows = this.splitter.apis.filter((t) => t.shadow);
    if (targets.length === 0) {
      throw new CortexValidationError(
        `splitter.apis (${this.splitter.apis.length} entries, all shadow) must have at least one non-shadow target`,
      );
    }
    if (shadows.length > 1) {
      throw new CortexValidationError(
        `splitter.apis (${shadows.map((s) => s.name).join(', ')}) may have at most one shadow target`,
      );
    }
    const shadow = shadows[0];

    this.virtualService = new VirtualService(this, 'VirtualService', {
      metadata: { name: this.splitter.name, namespace, labels: objectLabels(this.splitter.name, 'TrafficSplitter') },
      spec: gatewayVirtualServiceSpec({
        name: this.splitter.name,
        networking: this.splitter.networking,
        routes: targets.map((t) => routeTo(t.name, namespace, t.weight)),
        mirror: shadow && { destination: mirrorTo(shadow.name, namespace), percentage: shadow.weight },
      }),
    });

    const jwt = this.splitter.networking.auth?.jwt;
    if (jwt !== undefined) {
      this.gatewayJwt = new GatewayJwt(this, 'Jwt', {
        apiName: this.splitter.name,
        kind: 'TrafficSplitter',
        namespace,
        endpoint: this.splitter.networking.endpoint,
        jwt,
      });
    }
  }
}
