"""cj.telemetry: attach/detach/emit, failing handlers, span(), and the OpenTelemetry bridge."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import conjure_nb as cj

telemetry = cj.telemetry
Seen = list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]


@pytest.fixture
def attached() -> Iterator[list[str]]:
    """Handler ids attached by a test; all detached afterwards."""
    ids: list[str] = []
    yield ids
    for hid in ids:
        telemetry.detach(hid)


def recorder(seen: Seen) -> telemetry.Handler:
    def handler(event: tuple[str, ...], measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
        seen.append((event, measurements, metadata))

    return handler


def test_attach_emit_detach(attached: list[str]) -> None:
    seen: Seen = []
    telemetry.attach("t-basic", [("conjure", "execute", "stop")], recorder(seen))
    attached.append("t-basic")
    telemetry.emit(("conjure", "execute", "stop"), {"duration_ms": 1.5}, {"tool": "bash_tool"})
    telemetry.emit(("conjure", "execute", "start"), {}, {})  # not attached to this one
    assert seen == [(("conjure", "execute", "stop"), {"duration_ms": 1.5}, {"tool": "bash_tool"})]
    assert telemetry.handlers()["t-basic"] == [("conjure", "execute", "stop")]

    assert telemetry.detach("t-basic") is True
    telemetry.emit(("conjure", "execute", "stop"), {"duration_ms": 2.0}, {})
    assert len(seen) == 1
    assert telemetry.detach("t-basic") is False


def test_events_may_be_lists_and_handlers_get_copies(attached: list[str]) -> None:
    seen: Seen = []
    telemetry.attach("t-copy", [["conjure", "chat", "stop"]], recorder(seen))  # type: ignore[list-item]
    attached.append("t-copy")
    measurements = {"n": 1}
    telemetry.emit(("conjure", "chat", "stop"), measurements)
    seen[0][1]["n"] = 99
    assert measurements == {"n": 1}
    assert seen[0][2] == {}


def test_attach_rejects_a_used_id_and_no_events(attached: list[str]) -> None:
    telemetry.attach("t-dup", [("a", "b")], recorder([]), custom=True)
    attached.append("t-dup")
    with pytest.raises(ValueError, match="already attached"):
        telemetry.attach("t-dup", [("a", "b")], recorder([]), custom=True)
    with pytest.raises(ValueError, match="at least one event"):
        telemetry.attach("t-none", [], recorder([]), custom=True)


def test_a_raising_handler_is_detached_and_logged(
    attached: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def broken(event: tuple[str, ...], measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
        calls.append(1)
        raise RuntimeError("handler bug")

    seen: Seen = []
    telemetry.attach("t-broken", [("x", "y")], broken, custom=True)
    telemetry.attach("t-fine", [("x", "y")], recorder(seen), custom=True)
    attached.extend(["t-broken", "t-fine"])
    with caplog.at_level(logging.ERROR, logger="conjure_nb.telemetry"):
        telemetry.emit(("x", "y"), {}, {})  # does not raise
    telemetry.emit(("x", "y"), {}, {})
    assert calls == [1], "detached after the first failure"
    assert len(seen) == 2, "the other handler keeps working"
    assert "t-broken" not in telemetry.handlers()
    assert any("t-broken" in r.getMessage() and r.exc_info for r in caplog.records)


def test_span_emits_start_and_stop_with_duration(attached: list[str]) -> None:
    seen: Seen = []
    prefix = ("conjure", "test-span")
    telemetry.attach("t-span", [(*prefix, "start"), (*prefix, "stop")], recorder(seen), custom=True)
    attached.append("t-span")
    with telemetry.span(prefix, {"who": "me"}) as extra:
        extra["result"] = 42
    (start, m0, meta0), (stop, m1, meta1) = seen
    assert start == (*prefix, "start") and meta0 == {"who": "me"} and "system_time" in m0
    assert stop == (*prefix, "stop") and meta1 == {"who": "me", "result": 42}
    assert m1["duration_ms"] >= 0


def test_span_emits_exception_and_reraises(attached: list[str]) -> None:
    seen: Seen = []
    prefix = ("conjure", "test-span")
    telemetry.attach("t-exc", [(*prefix, "exception"), (*prefix, "stop")], recorder(seen), custom=True)
    attached.append("t-exc")
    with pytest.raises(KeyError), telemetry.span(prefix):
        raise KeyError("boom")
    assert [e for e, _, _ in seen] == [(*prefix, "exception")]
    assert "KeyError" in seen[0][2]["error"] and seen[0][1]["duration_ms"] >= 0


def test_emit_without_handlers_is_a_no_op() -> None:
    """Nothing attached: emit returns before touching its arguments (the hot path costs one check)."""
    assert not telemetry.handlers()
    untouchable: Any = object()  # dict(object()) would raise if emit built the handler arguments
    assert telemetry.emit(("nobody", "listens"), untouchable, untouchable) is None


def test_a_handler_hears_only_its_own_events() -> None:
    heard: list[tuple[str, ...]] = []
    telemetry.attach("only-mine", [("conjure", "files", "created")], lambda e, m, md: heard.append(e))
    try:
        telemetry.emit(("conjure", "chat", "start"), {}, {})
        telemetry.emit(("conjure", "files", "created"), {}, {})
    finally:
        telemetry.detach("only-mine")
    assert heard == [("conjure", "files", "created")]


def test_opentelemetry_bridge_exports_spans() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.enable_opentelemetry("t-otel", tracer_provider=provider)
    try:
        telemetry.emit(
            ("conjure", "execute", "stop"),
            {"duration_ms": 250.0},
            {"tool": "bash_tool", "exit_code": 0, "input": {"not": "a scalar"}},
        )
        telemetry.emit(("conjure", "execute", "exception"), {"duration_ms": 1.0}, {"error": "boom"})
        telemetry.emit(("conjure", "execute", "start"), {}, {})  # not bridged
    finally:
        telemetry.detach("t-otel")
        provider.shutdown()

    ok, failed = exporter.get_finished_spans()
    assert ok.name == "conjure.execute.stop"
    assert ok.attributes is not None
    assert dict(ok.attributes) == {
        "conjure.tool": "bash_tool",
        "conjure.exit_code": 0,
        "conjure.duration_ms": 250.0,
    }
    assert ok.end_time is not None and ok.start_time is not None
    assert ok.end_time - ok.start_time == pytest.approx(250e6, abs=1e3)
    assert failed.name == "conjure.execute.exception"
    assert failed.status.status_code is StatusCode.ERROR


def test_files_created_is_emitted_for_run_tool_with_the_new_names(attached: list[str]) -> None:
    seen: Seen = []
    telemetry.attach("t-files", [("conjure", "files", "created")], recorder(seen))
    attached.append("t-files")
    with cj.Session.new_local() as s:
        s.run_tool("bash_tool", command="echo a > a.txt; echo b > b.csv", description="d")
        s.run_tool("bash_tool", command="true", description="no files")
    assert len(seen) == 1
    _, measurements, metadata = seen[0]
    assert measurements == {"count": 2}
    assert metadata["session"] == s.id and sorted(metadata["files"]) == ["a.txt", "b.csv"]
