"""custom_metrics.py: the predictor's metrics_client, its checks, the exposition, several processes."""

import logging

import pytest
from harness import settings

from cortex_runtime import custom_metrics
from cortex_runtime.custom_metrics import CustomMetrics, MetricError


def test_names_and_tag_names_map_dots_and_dashes_as_cortexs_statsd_exporter_did():
    metrics = CustomMetrics("iris")
    metrics.client.increment("inference.calls-total", tags={"model.version": "v1", "region": 3})
    assert 'inference_calls_total{api_name="iris",model_version="v1",region="3"} 1' in metrics.exposition().splitlines()


def test_a_gauge_is_the_last_value_set_and_a_counter_adds_up():
    metrics = CustomMetrics("iris")
    for v in (3, 7.5, 2):
        metrics.client.gauge("queue_size", v)
        metrics.client.increment("items", v)
    lines = metrics.exposition().splitlines()
    assert 'queue_size{api_name="iris"} 2' in lines
    assert 'items{api_name="iris"} 12.5' in lines


def test_tag_values_are_escaped_in_the_exposition():
    metrics = CustomMetrics('a"pi')
    metrics.client.gauge("g", 1, tags={"text": 'say "hi"\\\nbye'})
    assert 'g{api_name="a\\"pi",text="say \\"hi\\"\\\\\\nbye"} 1' in metrics.exposition().splitlines()


def test_numpy_scalars_are_numbers():
    import numpy

    metrics = CustomMetrics("iris")
    metrics.client.histogram("score", numpy.float32(0.5))
    metrics.client.increment("n", numpy.int64(2))
    lines = metrics.exposition().splitlines()
    assert 'score_count{api_name="iris"} 1' in lines
    assert 'n{api_name="iris"} 2' in lines


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: c.increment("istio_requests_total"), "is reserved: names starting with cortex_, istio_, process_"),
        (lambda c: c.gauge("up", 1), "and the name up are the platform's own metrics"),
        (lambda c: c.gauge("9lives", 1), "not starting with a digit"),
        (lambda c: c.gauge("", 1), "is invalid"),
        (lambda c: c.gauge("x" * 201, 1), "use 1 to 200 letters"),
        (lambda c: c.gauge(None, 1), "a metric name must be a string, got NoneType"),
        (lambda c: c.gauge("g", True), "the value must be a number, got bool"),
        (lambda c: c.gauge("g", float("inf")), "the value must be a finite number, got inf"),
        (lambda c: c.histogram("h", None), "the value must be a number, got NoneType"),
        (lambda c: c.increment("c", -0.5), "a counter only goes up"),
        (lambda c: c.increment("c", tags=["model:v1"]), "tags must be a dict of tag names to values, got list"),
        (lambda c: c.increment("c", tags={"le": "1"}), "tag name 'le' is reserved"),
        (lambda c: c.increment("c", tags={"namespace": "x"}), "tag name 'namespace' is reserved"),
        (lambda c: c.increment("c", tags={"__name__": "x"}), "tag name '__name__' is reserved"),
        (lambda c: c.increment("c", tags={"a b": "x"}), "tag name 'a b' is invalid"),
        (lambda c: c.increment("c", tags={"k": {"nested": 1}}), "tag 'k' must be a string or a number, got dict"),
        (lambda c: c.increment("c", tags={"k": "x" * 257}), "1 to 256 characters, got 257"),
        (lambda c: c.increment("c", tags={"a.b": 1, "a_b": 2}), "tags 'a.b' and 'a_b' both become the label 'a_b'"),
        (lambda c: c.increment("c", tags={str(i): i for i in range(17)}), "at most 16 tags"),
    ],
)
def test_misuse_is_a_metric_error_naming_what_is_allowed(call, message):
    metrics = CustomMetrics("iris")
    with pytest.raises(MetricError, match=None) as raised:
        call(metrics.client)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert metrics.exposition() == ""


def test_one_name_keeps_one_type_and_a_histogram_owns_its_suffixes():
    client = CustomMetrics("iris").client
    client.gauge("latency", 1)
    with pytest.raises(MetricError, match=r"metric 'latency' is a gauge \(set with gauge\(\)\): histogram\(\) needs another name"):
        client.histogram("latency", 1)
    client.histogram("duration", 1)
    with pytest.raises(MetricError, match="clashes with the series of histogram 'duration'"):
        client.increment("duration_count")
    client.increment("size_sum")
    with pytest.raises(MetricError, match="histogram 'size' would clash with metric 'size_sum'"):
        client.histogram("size", 1)


def test_series_are_bounded(monkeypatch):
    monkeypatch.setattr(custom_metrics, "MAX_SERIES", 3)
    metrics = CustomMetrics("iris")
    for i in range(3):
        metrics.client.increment("requests", tags={"request_id": str(i)})
    metrics.client.increment("requests", tags={"request_id": "0"})  # an existing series: still counted
    with pytest.raises(MetricError, match="at most 3 custom series .* tags must not carry unbounded values such as ids"):
        metrics.client.increment("requests", tags={"request_id": "3"})
    assert 'requests{api_name="iris",request_id="0"} 2' in metrics.exposition().splitlines()


def test_several_processes_add_up_through_the_shared_directory(tmp_path):
    # GIVEN two processes' metrics sharing one directory
    first = CustomMetrics("iris", shared_dir=str(tmp_path), process_index=0)
    second = CustomMetrics("iris", shared_dir=str(tmp_path), process_index=1)
    first.client.increment("calls", 2, tags={"model": "v1"})
    first.client.histogram("latency", 0.2)
    first.client.gauge("loaded_models", 1)
    second.client.increment("calls", 3, tags={"model": "v1"})
    second.client.histogram("latency", 3)
    second.client.gauge("loaded_models", 4)  # set last: wins
    second.client.increment("only_second")

    # WHEN the second has written its figures and the first answers /metrics
    second.flush()
    lines = first.exposition().splitlines()

    # THEN
    for expected in [
        'calls{api_name="iris",model="v1"} 5',
        'latency_bucket{api_name="iris",le="0.25"} 1',
        'latency_bucket{api_name="iris",le="5.0"} 2',
        'latency_count{api_name="iris"} 2',
        'latency_sum{api_name="iris"} 3.2',
        'loaded_models{api_name="iris"} 4',
        'only_second{api_name="iris"} 1',
    ]:
        assert expected in lines, "\n".join(lines)
    assert lines.count("# TYPE calls counter") == 1


def test_a_broken_file_of_another_process_is_skipped(tmp_path):
    metrics = CustomMetrics("iris", shared_dir=str(tmp_path), process_index=0)
    metrics.client.increment("calls")
    (tmp_path / "custom-metrics-1.json").write_text('{"types": {"calls": "counter"}, "series": {"calls": [[[], ["x"]]]}}')
    (tmp_path / "custom-metrics-2.json").write_text("{not json")
    (tmp_path / "custom-metrics-3.json").write_text('{"types": {"calls": "gauge"}, "series": {"calls": [[[], [9, 0]]]}}')
    assert metrics.exposition().splitlines()[-1] == 'calls{api_name="iris"} 1'


def test_metrics_client_on_the_servers_metrics_beside_the_tracker(serve):
    server = serve(
        """
        class PythonPredictor:
            def __init__(self, config, metrics_client):
                self.metrics = metrics_client
            def predict(self, payload):
                self.metrics.increment("predictions", tags={"label": payload["label"]})
                return payload
        """,
        settings(tracker={"key": "label", "model_type": "classification"}),
    )
    server.post({"label": "setosa"})
    lines = server.admin.get("/metrics").text.splitlines()
    assert 'cortex_prediction_class_total{api_name="test-api",class="setosa"} 1' in lines
    assert 'predictions{api_name="test-api",label="setosa"} 1' in lines


def test_an_onnx_predictor_gets_metrics_client_too():
    from cortex_runtime.predictor import _call_with

    seen = {}

    class ONNXPredictor:
        def __init__(self, onnx_client, config, metrics_client):
            seen.update(onnx_client=onnx_client, metrics_client=metrics_client)

    call = _call_with(ONNXPredictor, ["config", "metrics_client", "onnx_client"], "ONNXPredictor.__init__")
    call({}, "metrics", "onnx")
    assert seen == {"onnx_client": "onnx", "metrics_client": "metrics"}


def test_cortex_logger_is_the_cortex_logger_with_extra_fields(caplog):
    from cortex_internal.lib.log import logger

    assert logger is logging.getLogger("cortex")
    with caplog.at_level(logging.INFO, logger="cortex"):
        logger.info("100%% of %s", "payloads", extra={"payload": {"text": "héllo"}, "shape": (2, 3), "obj": object})
        logger.info("plain")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "100% of payloads {\"payload\": {\"text\": \"héllo\"}, \"shape\": [2, 3], \"obj\": \"<class 'object'>\"}"
    assert messages[1] == "plain"


def test_cortex_logger_leaves_a_bad_format_to_the_handler():
    from cortex_internal.lib.log import ExtraFields

    record = logging.LogRecord("cortex", logging.INFO, __file__, 1, "%s %s", ("only one",), None)
    record.k = 1
    assert ExtraFields().filter(record) is True  # no exception in predict(): the handler reports it, as logging does
    assert record.msg == "%s %s"
