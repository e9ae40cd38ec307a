"""tracker.py: predictions exported as Prometheus metrics at GET /metrics."""

import logging

from harness import settings

from cortex_runtime.config import TrackerSettings
from cortex_runtime.tracker import Tracker

SOURCE = """
    class PythonPredictor:
        def __init__(self, config):
            pass
        def predict(self, payload):
            return payload
"""


def test_classification_counts_each_class(serve):
    server = serve(SOURCE, settings(tracker={"key": "label", "model_type": "classification"}))
    for label in ["setosa", "virginica", "setosa"]:
        server.post({"label": label, "score": 0.9})
    server.post({"no label": True})  # not trackable: skipped
    text = server.admin.get("/metrics").text
    assert 'cortex_prediction_class_total{api_name="test-api",class="setosa"} 2' in text.splitlines()
    assert 'cortex_prediction_class_total{api_name="test-api",class="virginica"} 1' in text.splitlines()
    assert "# TYPE cortex_prediction_class_total counter" in text


def test_regression_exports_min_max_avg(serve):
    server = serve(SOURCE, settings(tracker={"key": None, "model_type": "regression"}))
    for value in [3, 1.5, 7.5]:
        server.post(value)
    lines = server.admin.get("/metrics").text.splitlines()
    for expected in [
        'cortex_prediction_value_min{api_name="test-api"} 1.5',
        'cortex_prediction_value_max{api_name="test-api"} 7.5',
        'cortex_prediction_value_avg{api_name="test-api"} 4.0',
        'cortex_prediction_value_count{api_name="test-api"} 3',
        'cortex_prediction_value_sum{api_name="test-api"} 12.0',
    ]:
        assert expected in lines


def test_processes_add_up_through_their_shared_directory(tmp_path):
    config = TrackerSettings("classification")
    first = Tracker(config, "api", shared_dir=str(tmp_path), process_index=0)
    second = Tracker(config, "api", shared_dir=str(tmp_path), process_index=1)
    first.track("a")
    second.track("a")
    second.track("b")
    second.flush()
    text = first.exposition()
    assert 'cortex_prediction_class_total{api_name="api",class="a"} 2' in text
    assert 'cortex_prediction_class_total{api_name="api",class="b"} 1' in text


def test_label_values_are_escaped():
    tracker = Tracker(TrackerSettings("classification"), 'a"pi')
    tracker.track('cl"ass\n')
    assert 'cortex_prediction_class_total{api_name="a\\"pi",class="cl\\"ass\\n"} 1' in tracker.exposition()


def test_a_json_object_without_tracker_key_is_not_tracked_and_the_warning_says_key_is_required(caplog):
    # GIVEN a tracker with no key
    tracker = Tracker(TrackerSettings("classification"), "api")
    # WHEN the response is a JSON object
    with caplog.at_level(logging.WARNING, logger="cortex_runtime.tracker"):
        tracker.track({"label": "setosa", "score": 0.9})
    # THEN nothing is counted, and the warning names tracker.key and the response's keys
    assert tracker.snapshot()["classes"] == {}
    [message] = [r.getMessage() for r in caplog.records if r.name == "cortex_runtime.tracker"]
    assert "tracker.key is required when the response is a JSON object" in message
    assert "label, score" in message
