"""models.py: models loaded on demand by name and version, two LRU caches (memory, disk)."""

import logging
import os
import sys

import pytest
from fake_s3 import FakeS3Server, no_aws_credentials
from harness import settings

from cortex_runtime.config import ModelPath, ModelsSettings
from cortex_runtime.errors import ModelNotFoundError, UserError
from cortex_runtime.models import ModelCache, s3_endpoint_url

SOURCE = """
    import os
    import cortex_test_hooks

    class PythonPredictor:
        def __init__(self, config, python_client):
            self.client = python_client

        def load_model(self, model_path):
            with open(os.path.join(model_path, "weights.txt")) as f:
                weights = f.read()
            cortex_test_hooks.current.loads.append(weights)
            return weights

        def predict(self, payload, query_params):
            return self.client.get_model(query_params.get("model"), query_params.get("version", "highest"))
"""

MODEL_FILES = {
    "models/a/1/weights.txt": "a1",
    "models/a/2/weights.txt": "a2",
    "models/b/weights.txt": "b",
    "models/c/weights.txt": "c",
    "models/d/weights.txt": "d",
}


def on_disk(cache_dir):
    """The model versions present in the cache directory, as "name/version"."""
    return sorted(f"{name}/{version}" for name in os.listdir(cache_dir) for version in os.listdir(os.path.join(cache_dir, name)))


class TestEviction:
    def test_memory_and_disk_evict_the_least_recently_used(self, serve, hooks):
        hooks.loads = []
        server = serve(SOURCE, settings(models={"dir": "models", "cache_size": 2, "disk_cache_size": 3}),
                       files=MODEL_FILES)
        cache = server.predictor.model_cache

        for name in ["a", "b", "c"]:
            assert server.post({}, params={"model": name}).status_code == 200
        # THEN memory holds the 2 most recent, disk the 3 most recent
        assert cache.in_memory() == [("b", "1"), ("c", "1")]
        assert cache.on_disk() == [("a", "2"), ("b", "1"), ("c", "1")]

        # WHEN a, evicted from memory but still on disk, is asked for THEN it is loaded again, not fetched
        assert server.post({}, params={"model": "a"}).text == "a2"
        assert cache.in_memory() == [("c", "1"), ("a", "2")]
        assert cache.on_disk() == [("b", "1"), ("c", "1"), ("a", "2")]

        # WHEN d is asked for THEN b leaves the disk (least recently used there), c leaves memory
        assert server.post({}, params={"model": "d"}).text == "d"
        assert cache.in_memory() == [("a", "2"), ("d", "1")]
        assert cache.on_disk() == [("c", "1"), ("a", "2"), ("d", "1")]
        assert on_disk(cache.cache_dir) == ["a/2", "c/1", "d/1"]
        assert hooks.loads == ["a2", "b", "c", "a2", "d"]

        # WHEN a model in memory is asked for THEN nothing is loaded
        assert server.post({}, params={"model": "d"}).text == "d"
        assert hooks.loads == ["a2", "b", "c", "a2", "d"]

    def test_without_cache_sizes_every_model_stays(self, serve, hooks):
        hooks.loads = []
        server = serve(SOURCE, settings(models={"dir": "models"}), files=MODEL_FILES)
        for name in ["a", "b", "c", "d", "a"]:
            server.post({}, params={"model": name})
        assert hooks.loads == ["a2", "b", "c", "d"]
        assert len(server.predictor.model_cache.on_disk()) == 4

    def test_each_version_is_an_entry_of_its_own(self, serve, hooks):
        hooks.loads = []
        server = serve(SOURCE, settings(models={"dir": "models", "cache_size": 1, "disk_cache_size": 1}),
                       files=MODEL_FILES)
        assert server.post({}, params={"model": "a", "version": "1"}).text == "a1"
        assert server.post({}, params={"model": "a"}).text == "a2"
        assert server.predictor.model_cache.on_disk() == [("a", "2")]
        assert on_disk(server.predictor.model_cache.cache_dir) == ["a/2"]


class TestNamesAndVersions:
    @pytest.fixture
    def server(self, serve, hooks):
        hooks.loads = []
        return serve(SOURCE, settings(models={"dir": "models"}), files=MODEL_FILES)

    def test_a_version_is_chosen_with_version_and_defaults_to_the_highest(self, server):
        assert server.post({}, params={"model": "a", "version": "1"}).text == "a1"
        assert server.post({}, params={"model": "a"}).text == "a2"

    def test_an_unknown_model_is_a_404_naming_the_models(self, server):
        response = server.post({}, params={"model": "zebra"})
        assert response.status_code == 404
        assert response.text == "no model named 'zebra'; the models are: a, b, c, d"

    def test_an_unknown_version_is_a_404_naming_the_versions(self, server):
        response = server.post({}, params={"model": "a", "version": "7"})
        assert response.status_code == 404
        assert response.text == "model 'a' has no version 7; its versions are: 1, 2"

    def test_latest_is_the_highest_version_number_and_highest_its_older_name(self, server):
        for version, weights in (("latest", "a2"), ("highest", "a2"), ("01", "a1")):
            response = server.post({}, params={"model": "a", "version": version})
            assert response.status_code == 200 and weights in response.text

    @pytest.mark.parametrize("version", ["newest", "Latest", "-1", "1.0", "²", " 1", "x" * 200])
    def test_a_version_neither_a_number_nor_latest_is_a_400_naming_what_is_allowed(self, server, version):
        response = server.post({}, params={"model": "a", "version": version})
        assert response.status_code == 400
        assert "model version must be a version number" in response.text and "or 'latest', got " in response.text
        assert "x" * 100 not in response.text

    def test_version_arguments_of_get_model(self, tmp_path):
        for version in ("1", "2"):
            (tmp_path / "m" / version).mkdir(parents=True)
        cache = ModelCache(ModelsSettings(path="m"), os.path.basename, str(tmp_path / "c"), str(tmp_path))
        assert [cache.resolve(None, v)[1] for v in ("latest", None, "", "highest", 1, "2", 2)] == ["2", "2", "2", "2", "1", "2", "2"]
        assert cache.resolve(None)[1] == "2"
        for bad in (True, -1, 1.0, ["1"], b"1"):
            with pytest.raises(UserError, match="model version must be a version number"):
                cache.resolve(None, bad)

    def test_no_name_with_several_models_is_a_400(self, server):
        response = server.post({})
        assert response.status_code == 400
        assert "a model name is required (?model=NAME), one of: a, b, c, d" in response.text

    def test_get_root_lists_the_models_and_their_versions(self, server):
        assert server.client.get("/").json()["models"] == {"a": ["1", "2"], "b": ["1"], "c": ["1"], "d": ["1"]}

    def test_named_paths_and_a_single_path(self, serve, hooks):
        hooks.loads = []
        named = serve(SOURCE, settings(models={"paths": [{"name": "first", "path": "models/b", "signature_key": None},
                                                         {"name": "second", "path": "models/c"}]}),
                      files=MODEL_FILES, project_name="named")
        assert named.post({}, params={"model": "second"}).text == "c"
        single = serve(SOURCE, settings(models={"path": "models/a"}), files=MODEL_FILES, project_name="single")
        assert single.post({}, params={"model": "any-name"}).status_code == 200  # one model: the name is ignored
        assert single.post({}).text == "a2"


class TestPredictorContract:
    def test_get_model_works_from_init(self, serve, hooks):
        hooks.loads = []
        source = SOURCE.replace("self.client = python_client", "self.client = python_client\n            self.client.get_model('b')")
        serve(source, settings(models={"dir": "models"}), files=MODEL_FILES)
        assert hooks.loads == ["b"]

    def test_model_client_is_the_other_name_of_python_client(self, serve, hooks):
        hooks.loads = []
        source = SOURCE.replace("python_client", "model_client")
        assert serve(source, settings(models={"dir": "models"}), files=MODEL_FILES).post({}, params={"model": "c"}).text == "c"


def read_w(path):
    return open(os.path.join(path, "w.txt")).read()


class TestS3:
    """S3 through a fake endpoint on loopback (fake_s3.py), as boto3 reaches it: AWS_ENDPOINT_URL_S3."""

    @pytest.fixture
    def no_credentials(self, tmp_path, monkeypatch):
        def start(buckets, **options):
            server = FakeS3Server(buckets, **options).__enter__()
            servers.append(server)
            no_aws_credentials(monkeypatch, tmp_path, server.url)
            return server

        servers = []
        yield start
        for server in servers:
            server.__exit__(None, None, None)

    def test_s3_models_are_downloaded_into_the_disk_cache(self, tmp_path, no_credentials):
        s3 = no_credentials({"bucket": {"models/m/1/w.txt": b"m1", "models/m/2/w.txt": b"m2", "models/n/w.txt": b"n"}},
                            page_size=1)
        cache = ModelCache(ModelsSettings(dir="s3://bucket/models", disk_cache_size=1), read_w, str(tmp_path / "cache"),
                           str(tmp_path))
        assert cache.model_names() == ["m", "n"]
        assert cache.get_model("m") == "m2"
        assert cache.get_model("n") == "n"
        assert s3.downloads() == ["bucket/models/m/2/w.txt", "bucket/models/n/w.txt"]
        assert on_disk(str(tmp_path / "cache")) == ["n/1"]

    def test_without_credentials_requests_are_unsigned_and_the_log_says_so_once_per_bucket(
            self, tmp_path, no_credentials, caplog):
        caplog.set_level(logging.INFO, logger="cortex_runtime.models")
        s3 = no_credentials({"public": {"a/w.txt": b"a", "b/w.txt": b"b"}, "other": {"c/w.txt": b"c"}},
                            refuse_signed=True)
        paths = (ModelPath("a", "s3://public/a"), ModelPath("b", "s3://public/b/"), ModelPath("c", "s3://other/c"))
        cache = ModelCache(ModelsSettings(paths=paths), read_w, str(tmp_path / "cache"), str(tmp_path))
        assert [cache.get_model(name) for name in ("a", "b", "c", "a")] == ["a", "b", "c", "a"]
        assert s3.signed_requests() == [] and len(s3.downloads()) == 3
        announced = [r.getMessage() for r in caplog.records if "no AWS credentials found" in r.getMessage()]
        assert announced == [
            "no AWS credentials found: reading s3://public anonymously (unsigned requests, as for a public bucket)",
            "no AWS credentials found: reading s3://other anonymously (unsigned requests, as for a public bucket)",
        ]

    def test_with_credentials_requests_are_signed(self, tmp_path, no_credentials, monkeypatch, caplog):
        caplog.set_level(logging.INFO, logger="cortex_runtime.models")
        s3 = no_credentials({"private": {"m/w.txt": b"m"}}, refuse_unsigned=True)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
        cache = ModelCache(ModelsSettings(path="s3://private/m"), read_w, str(tmp_path / "cache"), str(tmp_path))
        assert cache.get_model() == "m"
        assert s3.requests and all(r.signed for r in s3.requests)
        assert "no AWS credentials found" not in caplog.text

    def test_a_private_bucket_without_credentials_is_a_clear_error(self, tmp_path, no_credentials):
        no_credentials({"private": {"m/w.txt": b"m"}}, refuse_unsigned=True)
        cache = ModelCache(ModelsSettings(path="s3://private/m"), read_w, str(tmp_path / "cache"), str(tmp_path))
        with pytest.raises(PermissionError, match=r"s3://private refused an anonymous request \(AccessDenied\): no AWS "
                                                  r"credentials were found.*give the API credentials"):
            cache.get_model()

    def test_an_object_key_leading_out_of_the_model_directory_is_refused(self, tmp_path, no_credentials):
        no_credentials({"bucket": {"m/w.txt": b"m", "m/../../escape.txt": b"x"}})
        cache = ModelCache(ModelsSettings(path="s3://bucket/m"), read_w, str(tmp_path / "cache"), str(tmp_path))
        with pytest.raises(ValueError, match="would land outside the model's directory"):
            cache.get_model()
        assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "cache" / "escape.txt").exists()

    @pytest.mark.parametrize("variables, expected", [
        ({"AWS_ENDPOINT_URL_S3": "http://s3.local", "AWS_ENDPOINT_URL": "http://all.local"}, "http://s3.local"),
        ({"AWS_ENDPOINT_URL": "http://all.local"}, "http://all.local"),
        ({"AWS_ENDPOINT_URL_S3": "http://s3.local", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, None),
        ({}, None),
    ])
    def test_the_endpoint_variables_of_the_aws_sdks(self, monkeypatch, variables, expected):
        for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        assert s3_endpoint_url() == expected

    def test_without_boto3_an_s3_model_fails_naming_it(self, tmp_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 raises ImportError
        cache = ModelCache(ModelsSettings(path="s3://bucket/model"), lambda p: p, str(tmp_path / "c"), str(tmp_path))
        with pytest.raises(RuntimeError, match="models on s3:// need boto3"):
            cache.get_model()

    def test_local_models_never_import_boto3(self, tmp_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "boto3", None)
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "w.txt").write_text("w")
        cache = ModelCache(ModelsSettings(paths=(ModelPath("m", "m"),)), lambda p: "loaded", str(tmp_path / "c"), str(tmp_path))
        assert cache.get_model("m") == "loaded"


class TestErrorsFromTheCache:
    def test_types(self, tmp_path):
        cache = ModelCache(ModelsSettings(paths=(ModelPath("m", "absent"),)), lambda p: p, str(tmp_path / "c"), str(tmp_path))
        with pytest.raises(ModelNotFoundError):
            cache.get_model("other")
        with pytest.raises(FileNotFoundError, match="model 'm': no files at absent"):
            cache.get_model("m")
        assert issubclass(ModelNotFoundError, UserError)
