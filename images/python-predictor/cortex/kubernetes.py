"""Reading the APIs of a namespace through the Kubernetes API with the pod's ServiceAccount, read-only: the API's
Deployment (replicas, rollout), its pods (what keeps them from serving) and its VirtualService (the path on the
gateway). The status rules are those of ``cortex get`` (bin/cli/kube/status.ts), in their short form."""

import http.client
import json
import os
import re
import ssl
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import quote, urlencode

from ._deadline import Deadline
from .exceptions import APIError, CortexError, NotFound

SERVICE_ACCOUNT_DIR_ENV = "CORTEX_SERVICE_ACCOUNT_DIR"
DEFAULT_SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

API_NAME_LABEL = "cortex.dev/api-name"
API_KIND_LABEL = "cortex.dev/api-kind"
API_KIND = "RealtimeAPI"

_IMAGE_PULL = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"}
_CANNOT_START = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError", "PreCreateHookError",
                 "PostStartHookError"}
#: Messages of those reasons that pass by themselves (as ``cortex get`` and the rollout gate read them,
#: lib/private/pod-diagnosis.ts): a kubelet that has not listed the Services yet, a busy container runtime.
_PASSING_CANNOT_START = re.compile(r"services have not yet been read at least once|context deadline exceeded", re.I)
#: Seconds for a whole request (head and body): a server sending a byte now and then gets no longer.
_TIMEOUT = 15.0
#: The largest answer read (a larger one is a CortexError, not the predictor's memory); as ``cortex get``'s.
MAX_ANSWER_SIZE = 64 * 1024 * 1024
#: The largest token file read (ServiceAccount tokens are a few KiB).
_MAX_TOKEN_SIZE = 64 * 1024
#: A namespace (a DNS-1123 label) and an API name (a DNS-1035 label).
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_API_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
#: What a bearer token may hold (RFC 6750's b64token).
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

_READ_APIS_HINT = ("the pod's ServiceAccount may not read the APIs: set read_apis: true on the calling API in "
                   "cortex.yaml (it renders a read-only Role and RoleBinding and mounts the token)")


class KubernetesReader:
    """GETs on the API server at ``https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT``, trusting the
    ServiceAccount's ``ca.crt``, with its ``token`` (read again at every request: the kubelet rotates it)."""

    def __init__(self, host: str, port: int, service_account_dir: str, namespace: str) -> None:
        self.host = host
        self.port = port
        self.dir = service_account_dir
        self.namespace = namespace
        self.context = ssl.create_default_context(cafile=os.path.join(service_account_dir, "ca.crt"))

    @classmethod
    def in_cluster(cls, service_account_dir: Optional[str] = None, namespace: Optional[str] = None) -> "KubernetesReader":
        directory = service_account_dir or os.environ.get(SERVICE_ACCOUNT_DIR_ENV) or DEFAULT_SERVICE_ACCOUNT_DIR
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise CortexError("not in a Kubernetes pod: KUBERNETES_SERVICE_HOST is not set (get_api and list_apis "
                              "read the cluster with the pod's ServiceAccount)")
        if not os.path.exists(os.path.join(directory, "token")):
            raise CortexError(f"no ServiceAccount token in {directory}: {_READ_APIS_HINT}")
        if namespace is None:
            try:
                with open(os.path.join(directory, "namespace"), "rb") as f:
                    namespace = f.read(256).decode("utf-8", "replace").strip()
            except OSError as e:
                raise CortexError(f"cannot read the pod's namespace from {directory}: {e}") from e
            if not _NAMESPACE.fullmatch(namespace):
                raise CortexError(f"the namespace file in {directory} does not hold a namespace (a DNS-1123 "
                                  f"label), got {namespace!r}")
        elif not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
            raise CortexError(f"namespace must be a DNS-1123 label (at most 63 lower case letters, digits and "
                              f"\"-\", starting and ending with a letter or a digit), got {namespace!r}")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise CortexError(f"KUBERNETES_SERVICE_PORT must be a port number, got {port!r}")
        try:
            return cls(host, int(port), directory, namespace)
        except (OSError, ssl.SSLError, ValueError) as e:
            raise CortexError(f"cannot use the ServiceAccount's CA in {directory}: {e}") from e

    def _token(self) -> str:
        path = os.path.join(self.dir, "token")
        try:
            with open(path, "rb") as f:
                data = f.read(_MAX_TOKEN_SIZE + 1)
        except OSError as e:
            raise CortexError(f"cannot read the ServiceAccount token: {e}") from e
        token = data.decode("ascii", "replace").strip()
        if len(data) > _MAX_TOKEN_SIZE or not _TOKEN.fullmatch(token):
            # never quoted: it is a secret, even when broken
            raise CortexError(f"{path} does not hold a bearer token ({len(data)} bytes"
                              f"{' or more' if len(data) > _MAX_TOKEN_SIZE else ''}, not one line of base64 "
                              "characters)")
        return token

    def get(self, path: str, query: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
        target = path + ("?" + urlencode(query) if query else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        token = self._token()
        try:
            connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=_TIMEOUT)
        except (ValueError, http.client.HTTPException) as e:
            raise CortexError(f"cannot reach the Kubernetes API at https://{host}:{self.port}: "
                              f"KUBERNETES_SERVICE_HOST is not a host ({e})") from e
        deadline = Deadline(connection, _TIMEOUT)
        try:
            connection.request("GET", target, headers={"Authorization": f"Bearer {token}",
                                                       "Accept": "application/json", "User-Agent": "cortex-cdk-client"})
            response = connection.getresponse()
            parts: List[bytes] = []
            size = 0
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    if deadline.expired:
                        raise TimeoutError("timed out")
                    if response.length:
                        raise http.client.IncompleteRead(b"", response.length)
                    break
                size += len(chunk)
                if size > MAX_ANSWER_SIZE:
                    raise CortexError(f"GET {path}: the answer is larger than {MAX_ANSWER_SIZE} bytes")
                parts.append(chunk)
            body = b"".join(parts)
        except (OSError, http.client.HTTPException, ValueError) as e:
            if deadline.expired:
                raise CortexError(f"GET {path}: no whole answer from the Kubernetes API at https://{host}:{self.port} "
                                  f"within {_TIMEOUT} s") from e
            raise CortexError(f"cannot reach the Kubernetes API at https://{host}:{self.port}: {e}") from e
        finally:
            deadline.cancel()
            connection.close()
        if response.status >= 300:
            try:
                detail = json.loads(body).get("message", "")
            except (ValueError, AttributeError):
                detail = body[:300].decode("utf-8", "replace")
            message = f"GET {path}: {response.status} {detail}".rstrip()
            if response.status in (401, 403):
                message += f"; {_READ_APIS_HINT}"
            kind = NotFound if response.status == 404 else APIError
            raise kind(message, response.status, body)
        try:
            answer = json.loads(body)
        except ValueError as e:
            raise CortexError(f"GET {path}: the Kubernetes API's answer is not JSON: {e}") from e
        if not isinstance(answer, dict):
            raise CortexError(f"GET {path}: the Kubernetes API's answer is not an object")
        return answer

    def _items(self, path: str, selector: str) -> List[Dict[str, Any]]:
        items = self.get(path, {"labelSelector": selector}).get("items") or []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise CortexError(f"GET {path}: the Kubernetes API's items are not a list of objects")
        return items

    def _routes(self, selector: str) -> Dict[str, str]:
        """The path of each API's VirtualService, by API name."""
        try:
            services = self._items(f"/apis/networking.istio.io/v1/namespaces/{quote(self.namespace)}/virtualservices",
                                   selector)
        except NotFound:  # no Istio CRDs: no routes
            return {}
        routes = {}
        for vs in services:
            labels = vs.get("metadata", {}).get("labels") or {}
            path = _endpoint_path(vs)
            if labels.get(API_KIND_LABEL) == API_KIND and path is not None:
                routes[labels.get(API_NAME_LABEL) or vs["metadata"]["name"]] = path
        return routes

    def get_api(self, api_name: str, gateway_url: Optional[str]) -> Dict[str, Any]:
        if not isinstance(api_name, str) or not _API_NAME.fullmatch(api_name):
            raise CortexError(f"{api_name!r} is not an API name: a DNS-1035 label (at most 63 lower case letters, "
                              "digits and \"-\", starting with a letter and ending with a letter or a digit)")
        return _shaped(lambda: self._get_api(api_name, gateway_url))

    def list_apis(self, gateway_url: Optional[str]) -> List[Dict[str, Any]]:
        return _shaped(lambda: self._list_apis(gateway_url))

    def _get_api(self, api_name: str, gateway_url: Optional[str]) -> Dict[str, Any]:
        ns = quote(self.namespace)
        try:
            deployment = self.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{quote(api_name, safe='')}")
        except NotFound as e:
            raise NotFound(f"no API named {api_name!r} in namespace {self.namespace!r}", 404, e.body) from None
        if (deployment.get("metadata", {}).get("labels") or {}).get(API_KIND_LABEL) != API_KIND:
            raise NotFound(f"no API named {api_name!r} in namespace {self.namespace!r}", 404)
        selector = f"{API_NAME_LABEL}={api_name},{API_KIND_LABEL}={API_KIND}"
        pods = self._items(f"/api/v1/namespaces/{ns}/pods", selector)
        routes = self._routes(selector)
        return _summary(deployment, pods, routes.get(api_name), self.namespace, gateway_url)

    def _list_apis(self, gateway_url: Optional[str]) -> List[Dict[str, Any]]:
        ns = quote(self.namespace)
        selector = f"{API_KIND_LABEL}={API_KIND}"
        deployments = self._items(f"/apis/apps/v1/namespaces/{ns}/deployments", selector)
        pods = self._items(f"/api/v1/namespaces/{ns}/pods", selector)
        routes = self._routes(selector)
        apis = []
        for deployment in deployments:
            name = _api_name(deployment)
            own = [p for p in pods if (p.get("metadata", {}).get("labels") or {}).get(API_NAME_LABEL) == name]
            apis.append(_summary(deployment, own, routes.get(name), self.namespace, gateway_url))
        return sorted(apis, key=lambda a: a["metadata"]["name"])


def _shaped(read: Callable[[], Any]) -> Any:
    """What ``read`` returns, or a CortexError when the objects it read are not shaped as Kubernetes makes them (a
    field null, a number where a map belongs): never an AttributeError or a TypeError from the middle of it."""
    try:
        return read()
    except (AttributeError, TypeError, KeyError, ValueError, IndexError) as e:
        raise CortexError(f"the Kubernetes API answered with objects this client cannot read ({type(e).__name__}: "
                          f"{e})") from e


def _api_name(obj: Dict[str, Any]) -> str:
    metadata = obj.get("metadata", {})
    return (metadata.get("labels") or {}).get(API_NAME_LABEL) or metadata.get("name", "")


def _endpoint_path(vs: Dict[str, Any]) -> Optional[str]:
    http_routes = (vs.get("spec") or {}).get("http") or [{}]
    matches = http_routes[0].get("match") or []
    for key in ("exact", "prefix"):
        for match in matches:
            value = (match.get("uri") or {}).get(key)
            if value is not None:
                return value
    return None


def _last_updated(metadata: Dict[str, Any]) -> Optional[str]:
    times = sorted(f["time"] for f in metadata.get("managedFields") or [] if f.get("time") and not f.get("subresource"))
    return times[-1] if times else metadata.get("creationTimestamp")


def _condition(conditions: Optional[List[Dict[str, Any]]], kind: str) -> Dict[str, Any]:
    return next((c for c in conditions or [] if c.get("type") == kind), {})


def _pod_problem(pod: Dict[str, Any]) -> Optional[Dict[str, str]]:
    status = pod.get("status") or {}
    if pod.get("metadata", {}).get("deletionTimestamp") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        name = container.get("name")
        if reason in _IMAGE_PULL:
            return {"kind": "error", "message": f'image pull failure: container "{name}" ({reason})'}
        if reason == "CrashLoopBackOff":
            return {"kind": "error", "message": f'crash looping: container "{name}" restarted '
                                                f'{container.get("restartCount", 0)} times'}
        if reason in _CANNOT_START and not _PASSING_CANNOT_START.search(str(waiting.get("message") or "")):
            return {"kind": "error", "message": f'container "{name}" cannot start ({reason})'}
    scheduled = _condition(status.get("conditions"), "PodScheduled")
    if status.get("phase") == "Pending" and scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        return {"kind": "pending", "message": "no node fits: " + " ".join((scheduled.get("message") or "").split())}
    return None


def _status(deployment: Dict[str, Any], pods: List[Dict[str, Any]]) -> Dict[str, Any]:
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    requested = spec.get("replicas", 1)
    ready = status.get("readyReplicas", 0)
    up_to_date = status.get("updatedReplicas", 0)
    counts = {"requested": requested, "ready": ready, "up_to_date": up_to_date}
    problems = [p for p in map(_pod_problem, pods) if p]
    errors = [p for p in problems if p["kind"] == "error"]
    waiting = [p for p in problems if p["kind"] == "pending"]
    conditions = status.get("conditions")
    failure = _condition(conditions, "ReplicaFailure")
    progressing = _condition(conditions, "Progressing")
    if errors:
        code, reason = "error", errors[0]["message"]
    elif failure.get("status") == "True":
        code, reason = "error", f"cannot create pods ({failure.get('reason', 'ReplicaFailure')})"
    elif progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        code, reason = "error", (waiting[0]["message"] + "; for longer than the rollout's progress deadline"
                                 if waiting else "the rollout made no progress within its deadline")
    elif waiting:
        code, reason = "pending", waiting[0]["message"]
    elif deployment.get("metadata", {}).get("generation", 0) > status.get("observedGeneration", 0):
        code, reason = "updating", "the new spec is not picked up yet"
    elif up_to_date < requested or status.get("replicas", 0) > up_to_date:
        code, reason = "updating", f"rolling out: {up_to_date} of {requested} replicas up to date, {ready} ready"
    elif ready < requested:
        code, reason = "updating", f"starting: {ready} of {requested} replicas ready"
    elif requested == 0:
        code, reason = "live", "scaled to zero: the first request starts a replica"
    else:
        code, reason = "live", None
    return {"status_code": code, "reason": reason, **counts}


def _summary(deployment: Dict[str, Any], pods: List[Dict[str, Any]], path: Optional[str], namespace: str,
             gateway_url: Optional[str]) -> Dict[str, Any]:
    metadata = deployment.get("metadata", {})
    return {
        "metadata": {"name": _api_name(deployment), "kind": API_KIND, "namespace": namespace,
                     "last_updated": _last_updated(metadata)},
        "status": _status(deployment, pods),
        "endpoint": gateway_url + path if gateway_url and path is not None else None,
    }
