import { ApiObject, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { CortexValidationError } from '../lib/config/errors';
import type { TrafficSplitterSpec } from '../lib/config/types';
import { GatewayJwt } from './auth';
import { COLD_START_AUTHORITY, checkColdStartRouting, type ColdStartRouting, DEFAULT_COLD_START_ROUTING, routeThroughInterceptor } from './cold-start';
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
  /**
   * The target APIs that may have no replica (`min_replicas: 0`), by name, with their `cold_start_timeout` in
   * seconds ({@link scaleToZeroTargets}): their routes go through the KEDA HTTP add-on's interceptor, as their
   * own endpoints' do, and the route's timeout grows by the longest wait.
   * @default {} - every target routed to its Service directly
   */
  readonly scaleToZeroTargets?: Readonly<Record<string, number>>;
  /**
   * Where the KEDA HTTP add-on answers; `false` when it is not installed (targets are then routed directly).
   * @default DEFAULT_COLD_START_ROUTING
   */
  readonly coldStart?: ColdStartRouting | false;
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
    const coldStart = props.coldStart ?? DEFAULT_COLD_START_ROUTING;
    if (coldStart !== false) checkColdStartRouting('coldStart', coldStart);
    const atZero = coldStart === false ? {} : (props.scaleToZeroTargets ?? {});
    const waits = targets.filter((t) => atZero[t.name] !== undefined).map((t) => atZero[t.name]);

    this.virtualService = new VirtualService(this, 'VirtualService', {
      metadata: { name: this.splitter.name, namespace, labels: objectLabels(this.splitter.name, 'TrafficSplitter') },
      spec: gatewayVirtualServiceSpec({
        name: this.splitter.name,
        networking: this.splitter.networking,
        routes: targets.map((t) =>
          coldStart !== false && atZero[t.name] !== undefined
            ? routeThroughInterceptor(t.name, namespace, coldStart, t.weight)
            : routeTo(t.name, namespace, t.weight),
        ),
        // A shadow's copies go to its Service directly (Istio's mirror sets no headers): at zero they are
        // dropped, and they wake the shadow through its gateway-activity trigger.
        mirror: shadow && { destination: mirrorTo(shadow.name, namespace), percentage: shadow.weight },
        coldStartTimeoutSeconds: waits.length > 0 ? Math.max(...waits) : undefined,
        // One Host for the whole route (Istio rewrites it per route, not per destination): the targets routed
        // directly see it too.
        authority: waits.length > 0 ? COLD_START_AUTHORITY : undefined,
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
