"""config.py: the settings file, checked once at start."""

import json

import pytest
from harness import settings

from cortex_runtime.config import BatchingSettings, ModelPath, load_settings, parse_settings
from cortex_runtime.errors import SettingsError


def problems(raw):
    with pytest.raises(SettingsError) as e:
        parse_settings(raw, "predictor.json")
    return str(e.value).splitlines()


class TestValid:
    def test_the_rendered_file_becomes_typed_settings(self):
        s = parse_settings(settings(
            server_side_batching={"max_batch_size": 8, "batch_interval_seconds": 0.1},
            models={"path": None, "paths": [{"name": "a", "path": "s3://b/a", "signature_key": None}], "dir": None,
                    "cache_size": 1, "disk_cache_size": 2, "signature_key": None},
            tracker={"key": "label", "model_type": "classification"},
            threads_per_process=8,
            compute={"cpu": "1", "mem": "2G", "gpu": 1, "inf": 0},
        ))
        assert s.server_side_batching == BatchingSettings(8, 0.1)
        assert s.models.paths == (ModelPath("a", "s3://b/a"),) and s.models.cache_size == 1
        assert s.tracker.key == "label" and s.tracker.model_type == "classification"
        assert (s.threads_per_process, s.compute.gpu, s.compute.cpu) == (8, 1, "1")

    def test_absent_settings_are_null_and_get_defaults(self):
        s = parse_settings({"version": 1, "api_name": "a", "type": "python", "path": "p.py"})
        assert (s.port, s.processes_per_replica, s.threads_per_process, s.log_level) == (8080, 1, 1, "info")
        assert s.models is None and s.server_side_batching is None and s.tracker is None and s.config == {}

    def test_unknown_keys_are_kept_aside_not_refused(self):
        assert parse_settings(settings(new_key=1)).unknown_keys == ("new_key",)

    def test_load_settings_reads_the_env_path(self, tmp_path, monkeypatch):
        path = tmp_path / "predictor.json"
        path.write_text(json.dumps(settings(api_name="from-env")))
        monkeypatch.setenv("CORTEX_PREDICTOR_CONFIG", str(path))
        assert load_settings().api_name == "from-env"


class TestRefused:
    def test_another_version_is_refused(self):
        assert problems(settings(version=2)) == [
            "predictor.json: version: this runtime reads settings version 1, got 2; "
            "build the image with the cortex-cdk release that rendered the settings"
        ]

    def test_every_problem_is_listed_with_its_key_and_value(self):
        assert problems(settings(
            api_name="", port=70000, type="pytorch", processes_per_replica=0, threads_per_process="4",
            log_level="verbose", config=[1],
        )) == [
            'predictor.json: api_name: must be a non-empty string, got ""',
            "predictor.json: port: must be an integer from 1 to 65535, got 70000",
            'predictor.json: type: must be one of python, tensorflow, onnx, got "pytorch"',
            "predictor.json: config: must be a mapping, got list",
            "predictor.json: processes_per_replica: must be an integer >= 1, got 0",
            'predictor.json: threads_per_process: must be an integer >= 1, got "4"',
            'predictor.json: log_level: must be one of debug, info, warning, error, got "verbose"',
        ]

    def test_models_need_exactly_one_source_and_sane_cache_sizes(self):
        assert problems(settings(models={"path": "a", "dir": "b", "cache_size": 3, "disk_cache_size": 2})) == [
            "predictor.json: models: must set exactly one of path, paths, dir; got path, dir",
            "predictor.json: models.cache_size: must be <= disk_cache_size (2), got 3",
        ]
        assert problems(settings(models={"paths": [{"name": "a", "path": "x"}, {"name": "a", "path": "y"}, {"path": "z"}]})) == [
            'predictor.json: models.paths[1].name: duplicate model name "a"',
            "predictor.json: models.paths[2].name: is required",
        ]

    def test_batching_needs_a_size_and_a_positive_interval(self):
        assert problems(settings(server_side_batching={"max_batch_size": 0, "batch_interval_seconds": 0})) == [
            "predictor.json: server_side_batching.max_batch_size: must be an integer >= 1, got 0",
            "predictor.json: server_side_batching.batch_interval_seconds: must be a number of seconds > 0, got 0",
        ]

    def test_tracker_needs_a_model_type(self):
        assert problems(settings(tracker={"key": None, "model_type": "ranking"})) == [
            'predictor.json: tracker.model_type: must be one of classification, regression, got "ranking"'
        ]

    def test_not_an_object(self):
        assert problems([1]) == ["predictor.json: must be a JSON object, got list"]

    def test_a_missing_file_says_where_it_looked_and_how_to_point_elsewhere(self, tmp_path):
        with pytest.raises(SettingsError, match=r"absent.json: cannot read the predictor settings .*set CORTEX_PREDICTOR_CONFIG"):
            load_settings(str(tmp_path / "absent.json"))

    def test_invalid_json(self, tmp_path):
        path = tmp_path / "broken.json"
        path.write_text("{")
        with pytest.raises(SettingsError, match="broken.json: not valid JSON"):
            load_settings(str(path))


class TestFunctionStyle:
    """kind: api's settings: style "function", metadata, at most one model."""

    def test_style_and_metadata_default_to_the_class_style(self):
        s = parse_settings(settings())
        assert (s.style, s.metadata) == ("class", {})

    def test_a_function_style_model_api_may_have_no_module(self):
        s = parse_settings(settings(style="function", type="onnx", path=None, models={"path": "m.onnx"},
                                    metadata={"labels": ["a"]}))
        assert (s.style, s.path, s.models.path, s.metadata) == ("function", None, "m.onnx", {"labels": ["a"]})

    def test_refused(self):
        assert problems(settings(style="method", metadata=[1], path=None)) == [
            'predictor.json: style: must be one of class, function, got "method"',
            "predictor.json: path: is required",
            "predictor.json: metadata: must be a mapping, got list",
        ]
        assert problems(settings(style="function", type="onnx", path=None)) == [
            "predictor.json: models: a function-style onnx predictor needs its model: models.path",
        ]
        assert problems(settings(style="function", models={"dir": "models"})) == [
            "predictor.json: models: a function-style (kind: api) predictor takes one model: models.path",
        ]


class TestRequestSettings:
    """allow_debug (predictor.json) and CORTEX_MAX_BODY_SIZE (the environment)."""

    def test_debug_is_off_unless_the_settings_allow_it(self):
        assert parse_settings(settings()).allow_debug is False
        assert parse_settings(settings(allow_debug=None)).allow_debug is False
        assert parse_settings(settings(allow_debug=True)).allow_debug is True
        assert problems(settings(allow_debug="yes")) == ['predictor.json: allow_debug: must be true or false, got "yes"']

    def test_the_body_limit_defaults_to_the_proxys_128_mib(self):
        assert parse_settings(settings(), environ={}).max_body_bytes == 128 * 1024 * 1024

    @pytest.mark.parametrize("text, size", [
        ("1048576", 1048576), ("100M", 100_000_000), ("128Mi", 134217728), (" 2 Gi ", 2 * 1024**3), ("10k", 10_000),
    ])
    def test_the_body_limit_takes_the_proxys_size_syntax(self, text, size):
        assert parse_settings(settings(), environ={"CORTEX_MAX_BODY_SIZE": text}).max_body_bytes == size

    @pytest.mark.parametrize("text", ["0", "-1", "1.5M", "128MB", "lots"])
    def test_a_body_limit_that_is_not_a_size_is_refused_with_the_others(self, text):
        with pytest.raises(SettingsError) as e:
            parse_settings(settings(port=0), "predictor.json", environ={"CORTEX_MAX_BODY_SIZE": text})
        assert str(e.value).splitlines() == [
            "predictor.json: port: must be an integer from 1 to 65535, got 0",
            f"predictor.json: $CORTEX_MAX_BODY_SIZE: must be a positive number of bytes, e.g. 1048576, 100M or 128Mi, "
            f"got {json.dumps(text)}",
        ]
