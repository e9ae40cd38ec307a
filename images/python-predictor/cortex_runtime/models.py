"""Multi-model serving: models fetched and loaded on demand, kept in two LRU caches.

The models are named by the settings' ``models`` (Cortex's ``multi_model_reloading`` for type python,
``models`` for onnx): one ``path`` (the model ``get_model()`` returns, whatever name it is given), ``paths``
(named), or a ``dir`` whose sub-directories are the models. Each model's directory holds either its
files (one version, ``1``) or integer-named version directories. A version is asked for by its number
or as ``"latest"`` (Cortex's name and default: the highest version number; ``"highest"`` is accepted too).

``get_model(name, version)`` makes sure the model is *on disk* (fetched into the cache directory: an
S3 download, or a symbolic link for a local path, which costs nothing) and *in memory* (the
predictor's ``load_model(path)``, or the ONNX session). At most ``disk_cache_size`` models stay on
disk and ``cache_size`` in memory, least recently used evicted first; ``None`` keeps every model.
Every model version is one entry. Memory ⊆ disk: a model evicted from disk leaves memory too.

Each process has its own caches (its own directory under the cache root): processes never share
models in memory anyway, and separate directories need no cross-process locking.

S3 is read with boto3's usual credentials; when there are none, the requests go unsigned (anonymous), as
Cortex did, which is what public model buckets need. ``AWS_ENDPOINT_URL_S3`` (or ``AWS_ENDPOINT_URL``)
points S3 elsewhere (MinIO, a test's fake), also with boto3 releases too old to read it themselves.
"""

import logging
import os
import re
import shutil
import threading
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

from .config import ModelsSettings
from .errors import ModelNotFoundError, UserError

logger = logging.getLogger("cortex_runtime.models")

#: The name of the model given by ``models.path``: ``get_model()`` with no name returns it.
DEFAULT_MODEL_NAME = "_cortex_default"
#: Version of a model whose directory has no version sub-directories.
UNVERSIONED = "1"
#: The version selector Cortex documents, and the default: the highest version number (not the newest upload).
LATEST = "latest"
#: This runtime's earlier name for LATEST, still accepted.
HIGHEST = "highest"
_VERSION_NUMBER = re.compile(r"^[0-9]+$")


def is_version_number(name: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes "²", which ``int`` refuses."""
    return _VERSION_NUMBER.match(name) is not None

ModelKey = Tuple[str, str]


class LocalStorage:
    """Model directories on the container's file system (relative paths: to the project)."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir

    def resolve(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.base_dir, path))

    def exists(self, path: str) -> bool:
        return os.path.exists(self.resolve(path))

    def list_dirs(self, path: str) -> List[str]:
        full = self.resolve(path)
        if not os.path.isdir(full):
            return []
        return sorted(e for e in os.listdir(full) if os.path.isdir(os.path.join(full, e)) and not e.startswith("."))

    def list_entries(self, path: str) -> List[str]:
        full = self.resolve(path)
        return sorted(os.listdir(full)) if os.path.isdir(full) else []

    def fetch(self, path: str, dest: str) -> None:
        # A link: the files are already on this disk; the cache's bookkeeping stays the same.
        os.symlink(self.resolve(path), dest)


def s3_endpoint_url() -> Optional[str]:
    """The S3 endpoint the AWS SDKs would use instead of AWS's, or None.

    Recent botocore reads these variables itself; passing the value on makes older ones (Debian's) do the same.
    """
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return None
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


class S3Storage:
    """``s3://bucket/prefix`` model directories; boto3 is imported on first use only.

    Without AWS credentials (none in the environment, the shared files, the pod's role...), requests are sent
    unsigned, as Cortex did: a public bucket answers them; a private one answers 403, which names the cause.
    """

    def __init__(self) -> None:
        self._client = None
        self._anonymous = False
        self._announced: set = set()
        self._lock = threading.Lock()

    def _s3(self, bucket: str):
        with self._lock:
            if self._client is None:
                try:
                    import boto3  # noqa: F401  (only APIs with S3 models need it)
                except ImportError as e:
                    raise RuntimeError(
                        "models on s3:// need boto3, which is not installed: add boto3 to the project's requirements.txt"
                    ) from e
                session = boto3.Session()
                options: Dict[str, Any] = {}
                endpoint = s3_endpoint_url()
                if endpoint is not None:
                    options["endpoint_url"] = endpoint
                if session.get_credentials() is None:
                    from botocore import UNSIGNED
                    from botocore.config import Config

                    options["config"] = Config(signature_version=UNSIGNED)
                    self._anonymous = True
                self._client = session.client("s3", **options)
            if self._anonymous and bucket not in self._announced:
                self._announced.add(bucket)
                logger.info("no AWS credentials found: reading s3://%s anonymously (unsigned requests, as for a "
                            "public bucket)", bucket)
            return self._client

    def _refused(self, error: Exception, bucket: str) -> Optional[Exception]:
        """A clearer error for a 403 to an unsigned request (None for any other error)."""
        response = getattr(error, "response", None)  # botocore's ClientError
        code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
        if self._anonymous and code in ("403", "AccessDenied"):
            return PermissionError(
                f"s3://{bucket} refused an anonymous request ({code}): no AWS credentials were found, so the "
                "runtime read S3 unsigned, which only public buckets allow; give the API credentials (the pod's "
                "role, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or make the objects public"
            )
        return None

    @staticmethod
    def split(path: str) -> Tuple[str, str]:
        match = re.match(r"^s3://([^/]+)/?(.*)$", path)
        if not match:
            raise ValueError(f"not an S3 path: {path}")
        bucket, prefix = match.groups()
        return bucket, prefix.rstrip("/")

    def _keys(self, path: str, delimiter: bool) -> Tuple[List[str], List[str]]:
        bucket, prefix = self.split(path)
        prefix = prefix + "/" if prefix else ""
        dirs: List[str] = []
        files: List[str] = []
        kwargs: Dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = "/"
        try:
            for page in self._s3(bucket).get_paginator("list_objects_v2").paginate(**kwargs):
                dirs.extend(p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", []))
                files.extend(o["Key"][len(prefix):] for o in page.get("Contents", []))
        except Exception as e:
            refused = self._refused(e, bucket)
            if refused is None:
                raise
            raise refused from e
        return dirs, files

    def exists(self, path: str) -> bool:
        dirs, files = self._keys(path, True)
        return bool(dirs or files)

    def list_dirs(self, path: str) -> List[str]:
        return sorted(self._keys(path, True)[0])

    def list_entries(self, path: str) -> List[str]:
        dirs, files = self._keys(path, True)
        return sorted(dirs + files)

    def fetch(self, path: str, dest: str) -> None:
        bucket, prefix = self.split(path)
        _, files = self._keys(path, False)
        if not files:
            raise FileNotFoundError(f"{path}: no objects")
        partial = dest + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        for relative in files:
            if relative.endswith("/"):
                continue
            target = os.path.normpath(os.path.join(partial, relative))
            if not target.startswith(partial + os.sep):
                raise ValueError(f"{path}: the object {relative!r} would land outside the model's directory")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self._download(bucket, f"{prefix}/{relative}" if prefix else relative, target)
        os.rename(partial, dest)

    def fetch_object(self, path: str, dest: str) -> None:
        """One object (a model that is a single file, such as ``s3://bucket/iris.onnx``) to the file ``dest``."""
        bucket, key = self.split(path)
        partial = dest + ".partial"
        self._download(bucket, key, partial)
        os.rename(partial, dest)

    def _download(self, bucket: str, key: str, target: str) -> None:
        try:
            self._s3(bucket).download_file(bucket, key, target)
        except Exception as e:
            refused = self._refused(e, bucket)
            if refused is None:
                raise
            raise refused from e


def _is_s3(path: str) -> bool:
    return path.startswith("s3://")


def _join(path: str, child: str) -> str:
    return path.rstrip("/") + "/" + child if _is_s3(path) else os.path.join(path, child)


class ModelCache:
    """Fetches and loads models by (name, version), with the two LRU caches described above."""

    def __init__(
        self,
        models: ModelsSettings,
        loader: Callable[[str], Any],
        cache_dir: str,
        project_dir: str,
    ) -> None:
        self.settings = models
        self.loader = loader
        self.cache_dir = cache_dir
        self.local = LocalStorage(project_dir)
        self._s3: Optional[S3Storage] = None
        self._lock = threading.Lock()
        self._key_locks: Dict[ModelKey, threading.Lock] = {}
        self._memory: "OrderedDict[ModelKey, Any]" = OrderedDict()
        self._disk: "OrderedDict[ModelKey, str]" = OrderedDict()
        self._versions: Dict[str, List[str]] = {}
        self._versioned: Dict[str, bool] = {}
        self._paths: Optional[Dict[str, str]] = None
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.makedirs(cache_dir, exist_ok=True)

    # -- where the models are ---------------------------------------------------------------------

    def _storage(self, path: str):
        if _is_s3(path):
            if self._s3 is None:
                self._s3 = S3Storage()
            return self._s3
        return self.local

    def model_paths(self) -> Dict[str, str]:
        """Model name → its directory. ``dir`` is listed once, when a model is first asked for."""
        with self._lock:
            if self._paths is None:
                s = self.settings
                if s.path is not None:
                    self._paths = {DEFAULT_MODEL_NAME: s.path}
                elif s.paths is not None:
                    self._paths = {m.name: m.path for m in s.paths}
                else:
                    assert s.dir is not None
                    names = self._storage(s.dir).list_dirs(s.dir)
                    self._paths = {name: _join(s.dir, name) for name in names}
            return dict(self._paths)

    def model_names(self) -> List[str]:
        return sorted(self.model_paths())

    def versions(self, name: str) -> List[str]:
        """Integer-named sub-directories are versions; without any, the model has one version, "1"."""
        with self._lock:
            known = self._versions.get(name)
        if known is not None:
            return known
        path = self.model_paths()[name]
        storage = self._storage(path)
        entries = storage.list_entries(path)
        versions = sorted((e for e in entries if is_version_number(e)), key=int)
        if versions and len(versions) != len(entries):
            logger.warning("model %s (%s): ignoring %s beside its version directories", name, path,
                           ", ".join(e for e in entries if not is_version_number(e)))
        versioned = bool(versions)
        if not versioned:
            if not entries:
                # Configured but absent: the deployment's fault, not the caller's (500).
                raise FileNotFoundError(f"model {name!r}: no files at {path}")
            versions = [UNVERSIONED]
        with self._lock:
            self._versions[name] = versions
            self._versioned[name] = versioned
        return versions

    def resolve(self, model_name: Optional[str], model_version: Any = LATEST) -> ModelKey:
        paths = self.model_paths()
        if self.settings.path is not None:
            # models.path: one model, whatever name the predictor gives (Cortex ignored it too)
            model_name = DEFAULT_MODEL_NAME
        elif model_name is None or model_name == "":
            if len(paths) == 1:
                model_name = next(iter(paths))
            else:
                raise UserError(f"a model name is required (?model=NAME), one of: {', '.join(sorted(paths))}")
        if model_name not in paths:
            raise ModelNotFoundError(
                f"no model named {model_name!r}; the models are: {', '.join(sorted(paths)) or 'none'}"
            )
        version = _version_asked(model_version)
        versions = self.versions(model_name)
        if version == LATEST:
            return model_name, versions[-1]
        if version not in versions:
            raise ModelNotFoundError(
                f"model {model_name!r} has no version {version}; its versions are: {', '.join(versions)}"
            )
        return model_name, version

    def _source(self, key: ModelKey) -> str:
        name, version = key
        path = self.model_paths()[name]
        return _join(path, version) if self._versioned[name] else path

    # -- the caches -------------------------------------------------------------------------------

    def get_model(self, model_name: Optional[str] = None, model_version: Any = LATEST) -> Any:
        key = self.resolve(model_name, model_version)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                self._disk.move_to_end(key)
                return self._memory[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # One load per model at a time; other models load in parallel.
        with key_lock:
            with self._lock:
                if key in self._memory:
                    self._memory.move_to_end(key)
                    self._disk.move_to_end(key)
                    return self._memory[key]
            local_path = self._ensure_on_disk(key)
            logger.info("loading model %s version %s from %s", key[0], key[1], local_path)
            model = self.loader(local_path)
            with self._lock:
                self._memory[key] = model
                self._memory.move_to_end(key)
                self._evict_memory(keep=key)
            return model

    def _ensure_on_disk(self, key: ModelKey) -> str:
        with self._lock:
            if key in self._disk:
                self._disk.move_to_end(key)
                return self._disk[key]
        source = self._source(key)
        dest = os.path.join(self.cache_dir, _safe(key[0]), key[1])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.lexists(dest):
            _remove(dest)
        logger.info("fetching model %s version %s from %s", key[0], key[1], source)
        self._storage(source).fetch(source, dest)
        with self._lock:
            self._disk[key] = dest
            self._disk.move_to_end(key)
            self._evict_disk(keep=key)
        return dest

    def _evict_memory(self, keep: ModelKey) -> None:
        limit = self.settings.cache_size
        while limit is not None and len(self._memory) > limit:
            victim = next(k for k in self._memory if k != keep)
            del self._memory[victim]
            logger.info("evicted model %s version %s from memory", *victim)

    def _evict_disk(self, keep: ModelKey) -> None:
        limit = self.settings.disk_cache_size
        while limit is not None and len(self._disk) > limit:
            victim = next(k for k in self._disk if k != keep)
            _remove(self._disk.pop(victim))
            self._memory.pop(victim, None)
            logger.info("evicted model %s version %s from disk", *victim)

    def in_memory(self) -> List[ModelKey]:
        """Least recently used first."""
        with self._lock:
            return list(self._memory)

    def on_disk(self) -> List[ModelKey]:
        """Least recently used first."""
        with self._lock:
            return list(self._disk)


def _version_asked(model_version: Any) -> str:
    """A version number as its directory is named ("007" → "7"), or LATEST (also for None, "" and "highest")."""
    if model_version is None:
        return LATEST
    if isinstance(model_version, str):
        if model_version in ("", LATEST, HIGHEST):
            return LATEST
        if is_version_number(model_version):
            return str(int(model_version))
    elif isinstance(model_version, int) and not isinstance(model_version, bool) and model_version >= 0:
        return str(model_version)
    shown = repr(model_version)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    raise UserError(f"model version must be a version number (such as \"2\" or 2) or {LATEST!r}, got {shown}")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _remove(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


class ModelClient:
    """What a Python predictor is given as ``python_client`` (or ``model_client``) when models are set."""

    def __init__(self, cache: ModelCache) -> None:
        self._cache = cache

    def get_model(self, model_name: Optional[str] = None, model_version: Any = LATEST) -> Any:
        """The loaded model (what the predictor's ``load_model`` returned); loads it when needed.

        ``model_version``: a version number (``"2"`` or ``2``), or ``"latest"`` (also None or omitted): the
        highest version number, as in Cortex. Raises ModelNotFoundError (404) for an unknown name or version,
        UserError (400) for a version that is neither, or when several models are served and no name is given.
        """
        return self._cache.get_model(model_name, model_version)

    def model_names(self) -> List[str]:
        return self._cache.model_names()

    def versions(self, model_name: Optional[str] = None) -> List[str]:
        return self._cache.versions(self._cache.resolve(model_name)[0])
