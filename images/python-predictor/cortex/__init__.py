"""``import cortex; cortex.client()``: one API calling another from inside the cluster, as Cortex's Python client
let a predictor do.

The client posts to the APIs gateway's in-cluster address, ``$CORTEX_GATEWAY_URL/<api_name>`` (every API
container has the variable), and reads an API's status through the Kubernetes API with the pod's own
ServiceAccount token — which the pod has only when its API sets ``read_apis: true`` in cortex.yaml. Standard
library only: it runs in the runtime's image without adding a package. See docs/client.md.
"""

from typing import Optional

from .client import Client, Event
from .exceptions import APIError, CortexError, NotFound, StreamError

__all__ = ["client", "Client", "Event", "CortexError", "APIError", "NotFound", "StreamError"]


def client(
    api_key: Optional[str] = None,
    gateway_url: Optional[str] = None,
    namespace: Optional[str] = None,
    service_account_dir: Optional[str] = None,
) -> Client:
    """A client for the APIs of this cluster.

    Args:
        api_key: sent as ``x-api-key`` with every call (default: ``$CORTEX_API_KEY``, else none).
        gateway_url: the APIs gateway's base URL (default: ``$CORTEX_GATEWAY_URL``).
        namespace: the namespace ``get_api`` and ``list_apis`` read (default: the pod's own).
        service_account_dir: where the pod's ServiceAccount token, CA and namespace are (default:
            ``$CORTEX_SERVICE_ACCOUNT_DIR``, else ``/var/run/secrets/kubernetes.io/serviceaccount``).
    """
    return Client(api_key=api_key, gateway_url=gateway_url, namespace=namespace,
                  service_account_dir=service_account_dir)
