import { ApiObject, Chart, ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-30';
import { Construct } from 'constructs';
import {
  type IntOrPercent,
  type RealtimeApiSpec,
} from '../lib/config/types';
import { GatewayJwt } from './auth';
import { scaledObjectSpec } from './autoscaling';
import {
  COLD_START_AUTHORITY,
  checkColdStartRouting,
  type ColdStartRouting,
  DEFAULT_COLD_START_ROUTING,
  coldStartTimeoutSeconds,
  interceptorRouteSpec,
  routeThroughInterceptor,
  waitsForColdStarts,
} from './cold-start';
import { InterceptorRoute } from './imports/http.keda.sh';
import { ScaledObject } from './imports/keda.sh';
import { VirtualService } from './imports/networking.istio.io';
import {
  DEFAULT_GATEWAY_URL,
  DEFAULT_NAMESPACE,
  DEFAULT_PROMETHEUS_URL,
  NEURON_SCHEDULER_NAME,
  PROXY_IMAGE_PLACEHOLDER,
  PROXY_PORT,
  PYTHON_PREDICTOR_IMAGE_PLACEHOLDER,
  SERVICE_PORT,
  objectLabels,
  selectorLabels,
} from './names';
import { apiNetworkPolicySpec, type ApiNetworkPolicyOptions } from './network-policy';
import { renderPodTemplate } from './pod-template';
import { ReadApisRbac } from './read-apis-rbac';
import { ApiServiceAccount } from './service-account';
import { predictorConfigMapName } from './predictor-config';
import { progressDeadlineSeconds } from './resources';
import { routeTo, gatewayVirtualServiceSpec } from './routing';
import {
  checkApiName,
  checkDns1123Label,
  checkDns1123Subdomain,
  checkHttpUrl,
  checkImage,
  checkName,
} from './validation';

function intOrString(value: IntOrPercent): k8s.IntOrString {
  return typeof value === 'number' ? k8s.IntOrString.fromNumber(value) : k8s.IntOrString.fromString(value);
}

/** Options of {@link RealtimeApiChart}, without the API (shared with `addConfigCharts`). */
export interface RealtimeApiChartOptions extends ChartProps {
  /**
   * The namespace of every object.
   * @default 'cortex'
   */
  readonly namespace?: string;
  /**
   * The proxy sidecar's image.
   * @default PROXY_IMAGE_PLACEHOLDER ('cortex-cdk/proxy:placeholder', not pullable)
   */
  readonly proxyImage?: string;
  /**
   * The Python predictor runtime's image, for predictor-form APIs without `predictor.image`.
   * @default PYTHON_PREDICTOR_IMAGE_PLACEHOLDER ('cortex-cdk/python-predictor:placeholder', not pullable)
   */
  readonly predictorImage?: string;
  /**
   * The gateway's in-cluster URL, given to every API container as `CORTEX_GATEWAY_URL` for chaining APIs.
   * @default 'http://apis-gateway.istio-system.svc.cluster.local'
   */
  readonly gatewayUrl?: string;
  /**
   * The Prometheus server KEDA's triggers query.
   * @default DEFAULT_PROMETHEUS_URL ('http://prometheus-server.prometheus.svc.cluster.local', the platform's)
   */
  readonly prometheusUrl?: string;
  /**
   * The scheduler of pods that ask for Neuron devices (`compute.inf`). Set `'default-scheduler'` on a
   * cluster without the Neuron scheduler extension.
   * @default 'my-scheduler' (the Neuron Helm chart's scheduler with the Neuron scheduler extension)
   */
  readonly neuronSchedulerName?: string;
  /**
   * A service account of yours for the pods (one with its own Pod Identity association or IRSA role, or one
   * the pods need for the Kubernetes API); then the chart renders none.
   * @default - the API's own ServiceAccount, `<api>-sa` (no Kubernetes token mounted), rendered here
   */
  readonly serviceAccountName?: string;
  /**
   * The API's NetworkPolicy: who may reach its pods (the gateway the proxy port, the metrics scrapers the admin
   * port, nothing else; see docs/kubernetes-objects.md). `false` renders none, for a cluster whose policy engine
   * is configured some other way.
   * @default - a NetworkPolicy letting the platform's gateway and Prometheus in
   */
  readonly networkPolicy?: ApiNetworkPolicyOptions | false;
  /**
   * Where the KEDA HTTP add-on answers, for APIs with `min_replicas: 0`: the gateway routes them through its
   * interceptor, which holds a request while the API has no ready replica (up to `cold_start_timeout`), and the
   * held requests scale the API. `false`: the add-on is not installed; a scale-to-zero API is then routed
   * directly, and the gateway answers 503 while it has no replica. APIs with `min_replicas` >= 1 never use it.
   * @default DEFAULT_COLD_START_ROUTING - the add-on as the platform installs it (release `keda-add-ons-http` in `keda`)
   */
  readonly coldStart?: ColdStartRouting | false;
}

/** Props of {@link RealtimeApiChart}. */
export interface RealtimeApiChartProps extends RealtimeApiChartOptions {
  /** The validated, fully defaulted RealtimeAPI. */
  readonly api: RealtimeApiSpec;
}

/**
 * The Kubernetes objects of one RealtimeAPI: ServiceAccount, Deployment (user containers + proxy sidecar),
 * Service, Istio VirtualService, KEDA ScaledObject, PodDisruptionBudget, NetworkPolicy, for the predictor form
 * the predictor ConfigMap, and with `networking.auth.jwt` an Istio RequestAuthentication and AuthorizationPolicy
 * at the gateway (in istio-system). Every object is named after the API (or `<api>-<suffix>`), in `namespace`
 * but for the gateway's two; no name or selector depends on a construct path. See docs/kubernetes-objects.md.
 */
export class RealtimeApiChart extends Chart {
  public readonly api: RealtimeApiSpec;
  public readonly namespace: string;
  public readonly proxyImage: string;
  public readonly predictorImage: string;
  public readonly gatewayUrl: string;
  public readonly prometheusUrl: string;
  public readonly neuronSchedulerName: string;
  /** The `cortex.dev/spec-hash` of the pod template. */
  public readonly specHash: string;

  public readonly deployment: ApiObject;
  public readonly service: ApiObject;
  public readonly virtualService: ApiObject;
  public readonly scaledObject: ApiObject;
  public readonly podDisruptionBudget: ApiObject;
  /** The predictor ConfigMap, for predictor-form APIs. */
  public readonly predictorConfigMap?: ApiObject;
  /** `networking.auth.jwt`'s RequestAuthentication and AuthorizationPolicy, in the gateway's namespace. */
  public readonly gatewayJwt?: GatewayJwt;
  /** The API's own ServiceAccount, unless `serviceAccountName` names one of the user's. */
  public readonly serviceAccount?: ApiServiceAccount;
  /** The ServiceAccount the pods run as: the API's own (`<api>-sa`), or `serviceAccountName`. */
  public readonly serviceAccountName: string;
  /** The NetworkPolicy of the API's pods, unless `networkPolicy: false`. */
  public readonly networkPolicy?: ApiObject;
  /** `read_apis: true`: the Roles and RoleBindings that let the pods' ServiceAccount read the APIs. */
  public readonly readApis?: ReadApisRbac;
  /** The KEDA HTTP add-on's InterceptorRoute, for an API with `min_replicas: 0` (unless `coldStart: false`). */
  public readonly interceptorRoute?: ApiObject;

  constructor(scope: Construct, id: string, props: RealtimeApiChartProps) {
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    super(scope, id, { ...props, namespace });
    this.api = props.api;
    this.namespace = namespace;
    this.proxyImage = props.proxyImage ?? PROXY_IMAGE_PLACEHOLDER;
    this.predictorImage = props.predictorImage ?? PYTHON_PREDICTOR_IMAGE_PLACEHOLDER;
    this.gatewayUrl = props.gatewayUrl ?? DEFAULT_GATEWAY_URL;
    this.prometheusUrl = props.prometheusUrl ?? DEFAULT_PROMETHEUS_URL;
    this.neuronSchedulerName = props.neuronSchedulerName ?? NEURON_SCHEDULER_NAME;

    checkApiName('api.name', this.api.name);
    checkDns1123Label('namespace', this.namespace);
    checkImage('proxyImage', this.proxyImage);
    checkImage('predictorImage', this.predictorImage);
    checkHttpUrl('gatewayUrl', this.gatewayUrl);
    checkHttpUrl('prometheusUrl', this.prometheusUrl);
    checkName('neuronSchedulerName', this.neuronSchedulerName);
    if (props.serviceAccountName !== undefined) {
      checkDns1123Subdomain('serviceAccountName', props.serviceAccountName);
    }

    const name = this.api.name;
    const labels = objectLabels(name, 'RealtimeAPI');
    const selector = selectorLabels(name, 'RealtimeAPI');
    const metadata = (objectName: string) => ({ name: objectName, namespace, labels });

    // First in the manifest: the pods cannot be created before their ServiceAccount.
    if (props.serviceAccountName === undefined) {
      this.serviceAccount = new ApiServiceAccount(this, 'ServiceAccount', { apiName: name, namespace });
    }
    this.serviceAccountName = props.serviceAccountName ?? this.serviceAccount!.name;
    if (this.api.readApis) {
      this.readApis = new ReadApisRbac(this, 'ReadApis', { apiName: name, namespace, serviceAccountName: this.serviceAccountName });
    }

    const pod = renderPodTemplate({
      api: this.api,
      proxyImage: this.proxyImage,
      predictorImage: this.predictorImage,
      gatewayUrl: this.gatewayUrl,
      neuronSchedulerName: this.neuronSchedulerName,
      serviceAccountName: this.serviceAccountName,
    });
    this.specHash = pod.specHash;

    if (pod.predictorConfigMapData !== undefined) {
      this.predictorConfigMap = new k8s.KubeConfigMap(this, 'PredictorConfig', {
        metadata: metadata(predictorConfigMapName(name)),
        data: pod.predictorConfigMapData,
      });
    }

    this.deployment = new ApiObject(this, 'Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(name),
      spec: {
        ...k8s.toJson_DeploymentSpec({
          // Constant across every change but init_replicas, so `kubectl apply`'s three-way merge never
          // patches it and the autoscaler's count survives re-applies (docs: "Replicas and the autoscaler").
          replicas: this.api.autoscaling.initReplicas,
          progressDeadlineSeconds: progressDeadlineSeconds(this.api.pod.containers.map((c) => c.compute)),
          selector: { matchLabels: selector },
          strategy: {
            type: 'RollingUpdate',
            rollingUpdate: {
              maxSurge: intOrString(this.api.updateStrategy.maxSurge),
              maxUnavailable: intOrString(this.api.updateStrategy.maxUnavailable),
            },
          },
          template: {},
        }),
        template: pod.template,
      },
    });

    // No scrape annotations: a predictor-form API's tracker metrics reach Prometheus through the proxy's
    // admin port with the proxy's own (the runtime listens on 127.0.0.1; the pods' annotations name that port).
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: metadata(name),
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          { name: 'http', port: SERVICE_PORT, targetPort: k8s.IntOrString.fromNumber(PROXY_PORT), protocol: 'TCP' },
        ],
      },
    });

    const coldStart = props.coldStart ?? DEFAULT_COLD_START_ROUTING;
    if (coldStart !== false) checkColdStartRouting('coldStart', coldStart);
    const throughInterceptor = coldStart !== false && waitsForColdStarts(this.api.autoscaling) ? coldStart : undefined;
    if (throughInterceptor !== undefined) {
      this.interceptorRoute = new InterceptorRoute(this, 'InterceptorRoute', {
        metadata: metadata(name),
        spec: interceptorRouteSpec(name, namespace, this.api.autoscaling),
      });
    }

    this.virtualService = new VirtualService(this, 'VirtualService', {
      metadata: metadata(name),
      spec: gatewayVirtualServiceSpec({
        name,
        networking: this.api.networking,
        routes: [
          throughInterceptor !== undefined ? routeThroughInterceptor(name, namespace, throughInterceptor) : routeTo(name, namespace),
        ],
        coldStartTimeoutSeconds: throughInterceptor !== undefined ? coldStartTimeoutSeconds(this.api.autoscaling) : undefined,
        authority: throughInterceptor !== undefined ? COLD_START_AUTHORITY : undefined,
      }),
    });

    const jwt = this.api.networking.auth?.jwt;
    if (jwt !== undefined) {
      const endpoint = this.api.networking.endpoint;
      this.gatewayJwt = new GatewayJwt(this, 'Jwt', { apiName: name, kind: 'RealtimeAPI', namespace, endpoint, jwt });
    }

    this.scaledObject = new ScaledObject(this, 'ScaledObject', {
      metadata: metadata(name),
      spec: scaledObjectSpec({
        apiName: name,
        namespace,
        deploymentName: name,
        prometheusUrl: this.prometheusUrl,
        autoscaling: this.api.autoscaling,
        coldStart: throughInterceptor !== undefined ? { routeName: name, routing: throughInterceptor } : undefined,
      }),
    });

    this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
      metadata: metadata(name),
      spec: {
        // One pod at a time, whatever the replica count: a drain always progresses, never all at once.
        maxUnavailable: k8s.IntOrString.fromNumber(1),
        // Pods that are not ready serve nothing; never let them block a drain.
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
        selector: { matchLabels: selector },
      },
    });

    if (props.networkPolicy !== false) {
      this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
        metadata: metadata(name),
        spec: apiNetworkPolicySpec(name, props.networkPolicy, throughInterceptor !== undefined ? [throughInterceptor.interceptorPeer] : []),
      });
    }
  }
}
