"""models.py: models loaded on demand by name and version, two LRU caches (memory, disk)."""

import os
import sys
import types

import pytest
from harness import settings

from cortex_runtime.config import ModelPath, ModelsSettings
from cortex_runtime.errors import ModelNotFoundError, UserError
from cortex_runtime.models import ModelCache

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

    def test_a_version_that_is_not_a_number_is_a_400(self, server):
        assert server.post({}, params={"model": "a", "version": "latest"}).status_code == 400

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


class FakeS3:
    """Just what S3Storage calls of boto3's client, over a dict of key → bytes."""

    def __init__(self, objects):
        self.objects = objects
        self.downloads = []

    def get_paginator(self, name):
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket, Prefix, Delimiter=None):
        keys = [k for k in self.objects if k.startswith(Prefix)]
        if Delimiter:
            prefixes = sorted({Prefix + k[len(Prefix):].split("/", 1)[0] + "/" for k in keys if "/" in k[len(Prefix):]})
            yield {"CommonPrefixes": [{"Prefix": p} for p in prefixes],
                   "Contents": [{"Key": k} for k in keys if "/" not in k[len(Prefix):]]}
        else:
            yield {"Contents": [{"Key": k} for k in keys]}

    def download_file(self, bucket, key, target):
        self.downloads.append(key)
        with open(target, "wb") as f:
            f.write(self.objects[key])


class TestS3:
    def test_s3_models_are_downloaded_into_the_disk_cache(self, tmp_path, monkeypatch):
        s3 = FakeS3({"models/m/1/w.txt": b"m1", "models/m/2/w.txt": b"m2", "models/n/w.txt": b"n"})
        monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda service: s3))
        cache = ModelCache(ModelsSettings(dir="s3://bucket/models", disk_cache_size=1),
                           lambda path: open(os.path.join(path, "w.txt")).read(), str(tmp_path / "cache"), str(tmp_path))
        assert cache.model_names() == ["m", "n"]
        assert cache.get_model("m") == "m2"
        assert cache.get_model("n") == "n"
        assert s3.downloads == ["models/m/2/w.txt", "models/n/w.txt"]
        assert on_disk(str(tmp_path / "cache")) == ["n/1"]

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
