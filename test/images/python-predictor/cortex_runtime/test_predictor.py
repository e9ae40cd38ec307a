"""predictor.py: loading the user's class, and Cortex's optional arguments passed by signature."""

import pytest
from harness import settings, write_project

from cortex_runtime.config import parse_settings
from cortex_runtime.errors import PredictorInitError, PredictorLoadError
from cortex_runtime.predictor import Predictor


def load(tmp_path, source, files=None, **overrides):
    project = write_project(tmp_path / "project", source, files)
    predictor = Predictor(parse_settings(settings(**overrides)), str(project), model_cache_dir=str(tmp_path / "cache"))
    predictor.load()
    return predictor


class TestArguments:
    def test_only_the_arguments_a_signature_names_are_passed(self, tmp_path):
        predictor = load(tmp_path, """
            class PythonPredictor:
                def __init__(self, config):
                    self.config = config
                def predict(self, headers, payload):
                    return (payload, headers, self.config)
        """, config={"k": "v"})
        assert predictor.predict("p", {"q": "1"}, {"h": "2"}) == ("p", {"h": "2"}, {"k": "v"})

    def test_init_may_take_no_config_and_predict_only_query_params(self, tmp_path):
        predictor = load(tmp_path, """
            class PythonPredictor:
                def __init__(self):
                    pass
                def predict(self, query_params):
                    return query_params
        """)
        assert predictor.predict("p", {"q": "1"}, {}) == {"q": "1"}

    def test_the_config_is_a_copy(self, tmp_path):
        predictor = load(tmp_path, """
            class PythonPredictor:
                def __init__(self, config):
                    config["mutated"] = True
                def predict(self, payload):
                    return payload
        """, config={"k": 1})
        assert predictor.settings.config == {"k": 1}

    def test_python_path_and_the_project_are_importable(self, tmp_path):
        predictor = load(tmp_path, """
            import helper_in_project
            import helper_in_lib

            class PythonPredictor:
                def __init__(self, config):
                    pass
                def predict(self, payload):
                    return helper_in_project.VALUE + helper_in_lib.VALUE
        """, files={"helper_in_project.py": "VALUE = 'a'\n", "lib/helper_in_lib.py": "VALUE = 'b'\n"}, python_path="lib")
        assert predictor.predict(None, {}, {}) == "ab"


class TestRefusals:
    @pytest.mark.parametrize("source, overrides, message", [
        ("class Other:\n    pass\n", {}, "predictor.py: defines no class PythonPredictor (type python); classes found: Other"),
        ("class PythonPredictor:\n    def __init__(self, config):\n        pass\n", {}, "PythonPredictor has no predict() method"),
        ("class PythonPredictor:\n    def __init__(self, config):\n        pass\n    def predict(self, payload, extra):\n        pass\n",
         {}, "PythonPredictor.predict: parameter 'extra' is not one Cortex passes (payload, query_params, headers)"),
        ("class PythonPredictor:\n    def __init__(self, config, python_client):\n        pass\n    def predict(self, payload):\n        pass\n",
         {}, "PythonPredictor.__init__ asks for python_client, which is given only when models are set"),
        ("class PythonPredictor:\n    def __init__(self, config, python_client):\n        pass\n    def predict(self, payload):\n        pass\n",
         {"models": {"path": "m"}}, "PythonPredictor must define load_model(self, model_path) when models"),
        ("import not_a_module_anywhere\n", {}, "predictor.py: importing it raised ModuleNotFoundError: No module named 'not_a_module_anywhere'"),
        ("class PythonPredictor:\n    pass\n", {"path": "absent.py"}, "path: absent.py not found in the project"),
    ])
    def test_a_predictor_that_cannot_work_is_refused_clearly(self, tmp_path, source, overrides, message):
        with pytest.raises(PredictorLoadError) as e:
            load(tmp_path, source, **overrides)
        assert message in str(e.value)

    def test_an_exception_in_init_is_reported_with_its_cause(self, tmp_path):
        with pytest.raises(PredictorInitError, match=r"PythonPredictor.__init__ raised OSError: weights.bin is missing") as e:
            load(tmp_path, """
                class PythonPredictor:
                    def __init__(self, config):
                        raise OSError("weights.bin is missing")
                    def predict(self, payload):
                        pass
            """)
        assert isinstance(e.value.__cause__, OSError)

    def test_type_tensorflow_is_refused_naming_what_is_missing(self, tmp_path):
        with pytest.raises(PredictorLoadError, match="type tensorflow is not supported by this runtime: it needs a TensorFlow Serving container"):
            load(tmp_path, "class TensorFlowPredictor:\n    pass\n", type="tensorflow", models={"path": "m"})

    def test_not_ready_until_init_returned(self, tmp_path):
        project = write_project(tmp_path / "p", "class PythonPredictor:\n    def __init__(self, config):\n        raise ValueError()\n    def predict(self, payload):\n        pass\n")
        predictor = Predictor(parse_settings(settings()), str(project))
        with pytest.raises(PredictorInitError):
            predictor.load()
        assert not predictor.ready
