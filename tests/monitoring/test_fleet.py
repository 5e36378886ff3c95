"""MonitoringAgent.analyze_many: many sources, sharded, on a real Dask LocalCluster and on a local
process pool, merged exactly; a failing source is reported and the others still complete."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.monitoring import _fleet as fleet
from conjure_nb.monitoring._agent import MonitoringAgent
from conjure_nb.monitoring._fetcher import LogFetcher
from conjure_nb.testing._demo_generator import generate, write_jsonl
from conjure_nb.testing._demo_server import DemoLogServer

from .conftest import load_script

_UNSTABLE = ("source", "sources", "elapsed_seconds", "fleet")


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what names its inputs (the window's query names each file it read)."""
    stable = {k: v for k, v in report.items() if k not in _UNSTABLE}
    stable["window"] = {k: v for k, v in report["window"].items() if k not in ("query", "sources")}
    return stable


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A JSON Lines file, a log4j file big enough to shard, and two files for a glob."""
    root = tmp_path_factory.mktemp("fleet")
    write_jsonl(root / "payments.jsonl", 4000, seed=1)
    with open(root / "orders.log", "w", encoding="utf-8") as out:
        for rec in generate(6000, seed=2):
            ts = rec["timestamp"]
            out.write(
                f"{ts[:10]} {ts[11:19]},{ts[20:23]} - {rec['level']:<5} [{rec['host']}] - {rec['message']}\n"
            )
    (root / "edge").mkdir()
    write_jsonl(root / "edge" / "a.jsonl", 700, seed=3)
    write_jsonl(root / "edge" / "b.jsonl", 900, seed=4)
    return {"payments": root / "payments.jsonl", "orders": root / "orders.log", "edge": root / "edge"}


def _single(*paths: Path) -> dict[str, Any]:
    """The reference: the analyzer's own single-pass analysis of the files, one after the other."""
    analyze: Any = load_script("analyze")
    parse_logs: Any = load_script("parse_logs")
    if len(paths) == 1:
        return analyze.analyze(parse_logs.LogReader(str(paths[0]), quiet=True))  # type: ignore[no-any-return]
    whole = paths[0].parent.parent / f"joined-{paths[0].parent.name}.jsonl"
    whole.write_bytes(b"".join(p.read_bytes() for p in paths))
    return analyze.analyze(parse_logs.LogReader(str(whole), quiet=True))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitoringAgent]:
    """An agent whose runs leave their files in out_dir (and no working dir behind). Its fetcher
    retries as the default one does, 100 times sooner: an unreachable URL fails in 0.07 s, not 3.5 s."""
    fetcher = LogFetcher(backoff=0.005)
    with MonitoringAgent(backend="local", out_dir=tmp_path_factory.mktemp("out"), fetcher=fetcher) as found:
        yield found


def _sources(logs: dict[str, Path], missing: Path) -> list[str]:
    return [str(logs["payments"]), str(logs["orders"]), str(logs["edge"] / "*.jsonl"), str(missing)]


def _check(result: fleet.FleetResult, logs: dict[str, Path], missing: Path) -> None:
    payments, orders, edge, _ = _sources(logs, missing)
    assert result.failures == {str(missing): f"{missing}: no such file"}
    assert _stable(result.sources[payments]) == _stable(_single(logs["payments"]))
    assert _stable(result.sources[orders]) == _stable(_single(logs["orders"]))
    assert _stable(result.sources[edge]) == _stable(
        _single(logs["edge"] / "a.jsonl", logs["edge"] / "b.jsonl")
    )
    total = result.analysis["summary"]["total"]
    assert total == 4000 + 6000 + 700 + 900 == sum(r["summary"]["total"] for r in result.sources.values())
    assert result.analysis["fleet"]["failed"] == result.failures
    assert any(str(missing) in note for note in result.analysis["parse"]["notes"])
    # the fleet's window is the sources' windows merged: earliest start, latest end, records summed
    windows = [r["window"] for r in result.sources.values()]
    assert result.window["start"] == min(w["start"] for w in windows)
    assert result.window["end"] == max(w["end"] for w in windows)
    assert result.window["records"] == sum(w["records"] for w in windows) == total
    assert result.window["truncated"] is False and result.window["asked"] == "the whole input"
    assert result.headline.startswith(f"{result.health_status} in {total:,} records, ")
    assert result.shards >= 6  # orders.log and payments.jsonl were cut into several shards


def test_analyze_many_on_a_local_pool(agent: MonitoringAgent, logs: dict[str, Path], tmp_path: Path) -> None:
    lines: list[str] = []
    agent.progress = lines.append
    result = agent.analyze_many(
        _sources(logs, tmp_path / "gone.log"), generate_report=False, shard_bytes=200_000
    )
    _check(result, logs, tmp_path / "gone.log")
    assert any("shards]" in line for line in lines) and any("failed" in line for line in lines)
    assert "<th>source</th><th>records</th>" in result.html()


def test_a_fleet_run_without_out_dir_keeps_its_dir_until_the_agent_closes(logs: dict[str, Path]) -> None:
    with MonitoringAgent(backend="local") as agent:
        result = agent.analyze_many([str(logs["edge"] / "a.jsonl")], generate_report=False)
        assert result.working_dir is not None and result.working_dir.is_dir()
    assert not result.working_dir.exists()


def test_in_a_notebook_a_progress_bar_fills_as_shards_finish(
    agent: MonitoringAgent, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from conjure_nb import telemetry
    from conjure_nb.notebook import _progress as progress

    monkeypatch.setattr(progress, "in_notebook", lambda: True)  # a kernel is what a notebook runs
    InteractiveShell.instance()
    try:
        assert progress.follow_fleets() and progress.follow_fleets()  # twice: still one handler
        with capture_output() as shown:
            result = agent.analyze_many([str(logs["payments"])], generate_report=False, shard_bytes=200_000)
    finally:
        telemetry.detach("conjure-notebook-fleet-progress")
        InteractiveShell.clear_instance()
    bars = [o for o in shown.outputs if "application/vnd.jupyter.widget-view+json" in o.data]
    assert len(bars) == 1 and result.shards > 1
    assert bars[0].data["text/plain"].startswith("IntProgress(")


def test_outside_a_notebook_there_is_no_bar(agent: MonitoringAgent, logs: dict[str, Path]) -> None:
    from conjure_nb.notebook._progress import ShardBar

    assert ShardBar(3).widget is None  # pytest is not a kernel: console lines only
    bar = ShardBar(2, show=True)
    bar.step()
    bar.step(failed=True)
    assert (bar.widget.value, bar.widget.bar_style) == (2, "danger")
    assert bar.widget.description == "shards 2/2, 1 failed"


@pytest.mark.slow
def test_analyze_many_on_a_dask_local_cluster_equals_the_local_pool(
    agent: MonitoringAgent, logs: dict[str, Path], tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    sources = _sources(logs, tmp_path / "gone.log")
    local = agent.analyze_many(sources, generate_report=False, shard_bytes=200_000)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = agent.analyze_many(sources, client=client, generate_report=False, shard_bytes=200_000)
        workers = client.scheduler_info()["workers"]
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    _check(on_dask, logs, tmp_path / "gone.log")
    assert _stable(on_dask.analysis) == _stable(local.analysis)
    assert {k: _stable(v) for k, v in on_dask.sources.items()} == {
        k: _stable(v) for k, v in local.sources.items()
    }


def test_urls_are_fetched_and_an_unreachable_one_fails_alone(
    agent: MonitoringAgent, logs: dict[str, Path], closed_port: int, tmp_path: Path
) -> None:
    with DemoLogServer(records=1200, seed=42) as server:
        good = f"{server.logs_url}?service=payment-service"
        bad = f"http://127.0.0.1:{closed_port}/api/logs"
        result = agent.analyze_many([good, bad, str(logs["payments"])], limit=100, generate_report=True)
        payments = sum(1 for r in server.store.records if r["service"] == "payment-service")
    assert set(result.sources) == {good, str(logs["payments"])} and list(result.failures) == [bad]
    # the URL was asked for the last hour and cut at 100 records; the file was read whole
    cut = result.sources[good]["window"]
    assert cut["truncated"] is True and cut["records"] == 100 and cut["asked"] == "the last hour"
    assert cut["available"] is not None and 100 < cut["available"] <= payments
    assert "service=payment-service" in cut["query"] and "since=1h" in cut["query"]
    whole = result.sources[str(logs["payments"])]["window"]
    assert whole["truncated"] is False and whole["records"] == 4000
    merged = result.window
    assert merged["truncated"] is True and merged["records"] == 4100 and merged["available"] is None
    assert merged["start"] == min(cut["start"], whole["start"]) and merged["end"] == max(
        cut["end"], whole["end"]
    )
    fetched = result.sources[good]
    assert fetched["summary"]["total"] == 100 and set(fetched["records_by_service"]) == {"payment-service"}
    assert {p.suffix for p in result.report_files} == {".xlsx", ".pdf"}
    assert result.working_dir == agent.out_dir
    saved = json.loads((result.working_dir / "analysis.json").read_text())  # type: ignore[operator]
    assert saved["fleet"]["failed"] == result.failures


def test_no_sources_and_a_missing_dask_are_clear_errors(
    agent: MonitoringAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conjure_nb._errors import UsageError

    with pytest.raises(UsageError, match="at least one source"):
        agent.analyze_many([])
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"conjure-nb\[dask\]"):
        fleet._distributed()


def test_a_main_module_without_a_spec_does_not_fail_the_pool(
    agent: MonitoringAgent, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """IPython's shell may put a module without `__spec__` in sys.modules["__main__"] (a notebook)."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    del sys.modules["__main__"].__spec__
    result = agent.analyze_many([str(logs["payments"])], generate_report=False, shard_bytes=200_000)
    assert result.shards > 1 and not result.failures
