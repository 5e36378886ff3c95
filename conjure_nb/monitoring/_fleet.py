"""Many log sources analysed in parallel and merged exactly: `MonitoringAgent.analyze_many`.

Each source (a URL of the log API with its query, a file, or a glob of files) becomes one or more
shards: big line-oriented files are cut at line starts. Every shard is analysed by the
log-analyzer skill's own code into a *partial* (analyze.py --partial), and the partials are
merged: per source, and across the fleet. Merging is exact (see the skill's partial.py), so the
fleet view equals one pass over all the logs.

With `client=` a `dask.distributed.Client`, the shards run as Dask tasks on that cluster (a
LocalCluster on a laptop, or a real cluster: the same code); without one, on a local process
pool sized to the machine. `client="local"` starts a LocalCluster for the call. A source that
fails (unreachable, unreadable) is reported in the result and in the report's notes; the others
still complete.
"""

from __future__ import annotations

import concurrent.futures as cf
import glob
import json
import multiprocessing
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._errors import ConjureError, UsageError
from ..telemetry import emit
from ._fetcher import redacted
from ._outputs import copy_out
from ._result import FleetResult, source_row
from ._skillcode import skill_code
from ._steps import ANALYSIS_FILE, FetchRequest, NativeFetch, StepRun

if TYPE_CHECKING:
    from ._agent import MonitoringAgent

SHARD_BYTES = 64 << 20
_LINE_FORMATS_EXCLUDED = ("json",)


@dataclass(frozen=True)
class Shard:
    """One task: bytes `start`..`end` of `path`, read as `fmt` (and `layout`), for `source`."""

    source: str
    path: str
    start: int
    end: int | None
    fmt: str
    layout: dict[str, Any] | None
    skill_dir: str


def analyze_many(
    agent: MonitoringAgent,
    sources: Iterable[str],
    *,
    client: Any = None,
    since: str | None = "1h",
    limit: int | None = None,
    generate_report: bool = True,
    shard_bytes: int = SHARD_BYTES,
) -> FleetResult:
    """Fetch, shard, analyse and merge `sources`; see the module docstring."""
    names = list(sources)
    if not names:
        raise UsageError("analyze_many needs at least one source (a URL, a file or a glob)")
    if shard_bytes < 1:
        raise UsageError(f"shard_bytes must be at least 1, not {shard_bytes}")
    workdir = agent._workdir("conjure-fleet-")  # kept with the result until the agent closes
    try:
        return _analyze(agent, names, workdir, client, (since, limit), generate_report, shard_bytes)
    finally:
        if agent.out_dir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _analyze(
    agent: MonitoringAgent,
    names: list[str],
    workdir: Path,
    client: Any,
    window: tuple[str | None, int | None],
    generate_report: bool,
    shard_bytes: int,
) -> FleetResult:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    files, failures = _gather(agent, names, workdir, *window)
    timings["fetch"] = (time.perf_counter() - started) * 1000
    skill_dir = str(agent.skill("log-analyzer").path)
    shards = [
        s for source, paths in files.items() for s in _shards(source, paths, skill_dir, shard_bytes, failures)
    ]
    agent.progress(f"analysing {len(files)} sources in {len(shards)} shards ({_where(client)})")
    started = time.perf_counter()
    partials = _run(shards, client, agent.progress, failures)
    timings["analyze"] = (time.perf_counter() - started) * 1000
    result = _merge(shards, partials, failures, skill_dir)
    result.timings, result.working_dir = timings, agent.out_dir or workdir
    agent.progress(f"fleet verdict: {result.headline}")
    if generate_report and result.sources:
        started = time.perf_counter()
        result.report_files = _report(agent, result, workdir)
        timings["report"] = (time.perf_counter() - started) * 1000
    return result


# -- sources --------------------------------------------------------------------------------------


def _gather(
    agent: MonitoringAgent, names: list[str], workdir: Path, since: str | None, limit: int | None
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Every source as files on disk: URLs fetched into the working dir, globs expanded."""
    files: dict[str, list[str]] = {}
    failures: dict[str, str] = {}
    for index, source in enumerate(names):
        name = redacted(source)  # how the source is shown and saved: never with its credentials
        if name in files or name in failures:
            name = f"{name} #{index + 1}"
        try:
            if source.startswith(("http://", "https://")):
                files[name] = [_fetch(agent, source, workdir, f"source-{index}.jsonl", since, limit)]
            else:
                files[name] = _expand(source)
        except (ConjureError, OSError) as exc:
            why = redacted(str(exc).strip())
            failures[name] = why.splitlines()[-1] if why else type(exc).__name__
            agent.progress(f"source {name} failed: {failures[name]}")
    return files, failures


_FILTERS = ("level", "service", "host", "since", "until", "query", "api")


def _fetch(
    agent: MonitoringAgent, url: str, workdir: Path, name: str, since: str | None, limit: int | None
) -> str:
    """The URL's records fetched to a file by the native fetch step; its query's filters
    (`?service=a&level=ERROR`) become the fetcher's options (a `since` there wins over the call's),
    anything else stays in the URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    filters = tuple((k, v) for k, v in query if k in _FILTERS)
    if any(k == "since" for k, _ in filters):
        since = None
    rest = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k not in _FILTERS])))
    with agent.start_session("native", working_dir=workdir) as session:
        NativeFetch().fetch(
            StepRun(session, agent.progress, agent.skill), FetchRequest(rest, since, limit, name, filters)
        )
    agent.progress(f"fetched {redacted(url)}")
    return str(workdir / name)


def _expand(pattern: str) -> list[str]:
    if glob.has_magic(pattern):
        found = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
        if not found:
            raise ConjureError(f"no file matches {pattern!r}")
        return found
    if not os.path.isfile(pattern):
        raise ConjureError(f"{pattern}: no such file")
    with open(pattern, "rb"):  # unreadable files fail here, with the OS's reason
        pass
    return [pattern]


def _shards(
    source: str, paths: list[str], skill_dir: str, size: int, failures: dict[str, str]
) -> Iterator[Shard]:
    """The shards of one source: each file detected once, big line files cut at line starts."""
    analyzer = load_analyzer(skill_dir)
    for path in paths:
        try:
            with open(path, "rb") as handle:
                fmt, layout = analyzer.parse_logs.detect(handle.read(1 << 16))
        except (OSError, analyzer.ParseError) as exc:
            failures[source] = f"{path}: {exc}"
            return
        found = layout.as_dict() if layout is not None else None
        for start, end in _cuts(path, size if fmt not in _LINE_FORMATS_EXCLUDED else 0):
            yield Shard(source, path, start, end, fmt, found, skill_dir)


def _cuts(path: str, size: int) -> list[tuple[int, int | None]]:
    total = os.path.getsize(path)
    if size <= 0 or total <= size:
        return [(0, None)]
    starts = [0]
    with open(path, "rb") as handle:
        for offset in range(size, total, size):
            if offset <= starts[-1]:
                continue
            handle.seek(offset - 1)
            handle.readline()  # to the start of the next whole line
            if handle.tell() < total:
                starts.append(handle.tell())
    return [(a, b) for a, b in zip(starts, [*starts[1:], None])]


FLEET_START = ("conjure", "fleet", "start")  # measurements: total (shards); metadata: run (an id)
FLEET_SHARD = ("conjure", "fleet", "shard")  # measurements: done, failed, total; metadata: run


# -- running the shards -----------------------------------------------------------------------


class _Analyzer:
    """The log-analyzer skill's modules (its code package, imported by `skill_code`)."""

    def __init__(self, skill_dir: str):
        self.analyze: Any = skill_code("log-analyzer", "analyze", skill_dir=skill_dir)
        self.parse_logs: Any = skill_code("log-analyzer", "parse_logs", skill_dir=skill_dir)
        self.ParseError: Any = skill_code("log-analyzer", "jsondoc", skill_dir=skill_dir).ParseError


def load_analyzer(skill_dir: str) -> _Analyzer:
    return _Analyzer(skill_dir)


def analyze_shard(shard: Shard) -> dict[str, Any]:
    """One shard's partial analysis. Runs in a Dask worker or a pool process."""
    analyzer = load_analyzer(shard.skill_dir)
    reader = analyzer.parse_logs.LogReader(
        shard.path, shard.fmt, quiet=True, layout=shard.layout, start=shard.start, end=shard.end
    )
    found: dict[str, Any] = analyzer.analyze.partial(reader)
    found["sources"] = [shard.source]
    return found


def _where(client: Any) -> str:
    if client is None:
        return f"local process pool, {os.cpu_count()} workers"
    return f"Dask cluster {getattr(client, 'scheduler', None) and client.scheduler.address}"


def _run(
    shards: list[Shard], client: Any, progress: Any, failures: dict[str, str]
) -> list[dict[str, Any] | None]:
    """Each shard's partial (None for a shard that failed, recorded in `failures`)."""
    if not shards:
        return []
    if client == "local":
        distributed = _distributed()
        with (
            distributed.LocalCluster(
                processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0", threads_per_worker=1
            ) as cluster,
            distributed.Client(cluster) as local,
        ):
            return _run_dask(shards, local, progress, failures)
    if client is not None:
        return _run_dask(shards, client, progress, failures)
    context = multiprocessing.get_context("spawn")
    _give_main_a_spec()
    with cf.ProcessPoolExecutor(
        max_workers=min(len(shards), os.cpu_count() or 1), mp_context=context
    ) as pool:
        futures = {pool.submit(analyze_shard, shard): i for i, shard in enumerate(shards)}
        return _collect(
            shards, futures, cf.as_completed(futures), progress, failures, lambda f: f.exception()
        )


def _give_main_a_spec() -> None:
    """Spawned workers read `__main__.__spec__`; a module IPython made for `__main__` may lack it.

    A module run interactively has `__spec__ = None`, which tells the workers there is no main
    module to import; a missing attribute instead fails the whole pool.
    """
    main = sys.modules.get("__main__")
    if main is not None and not hasattr(main, "__spec__"):
        main.__spec__ = None


def _run_dask(
    shards: list[Shard], client: Any, progress: Any, failures: dict[str, str]
) -> list[dict[str, Any] | None]:
    distributed = _distributed()
    futures = client.map(analyze_shard, shards, pure=False)
    index = {future.key: i for i, future in enumerate(futures)}
    found = _collect(
        shards,
        {f: index[f.key] for f in futures},
        distributed.as_completed(futures),
        progress,
        failures,
        lambda f: f.exception() if f.status == "error" else None,
    )
    client.cancel(futures)
    return found


def _collect(
    shards: list[Shard],
    futures: dict[Any, int],
    done: Iterable[Any],
    progress: Any,
    failures: dict[str, str],
    error: Any,
) -> list[dict[str, Any] | None]:
    results: list[dict[str, Any] | None] = [None] * len(shards)
    run, failed = uuid.uuid4().hex, 0
    emit(FLEET_START, {"total": len(shards)}, {"run": run})
    for count, future in enumerate(done, 1):
        i = futures[future]
        problem = error(future)
        if problem is not None:
            failures.setdefault(shards[i].source, f"{shards[i].path}: {problem}")
        else:
            results[i] = future.result()
        failed += problem is not None
        emit(FLEET_SHARD, {"done": count, "failed": failed, "total": len(shards)}, {"run": run})
        progress(f"[{count}/{len(shards)} shards] {os.path.basename(shards[i].path)} done")
    return results


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "analyze_many on a Dask cluster needs dask.distributed: pip install 'conjure-nb[dask]'"
        ) from exc
    return distributed


# -- merging and the report -------------------------------------------------------------------


def _merge(
    shards: list[Shard], partials: list[dict[str, Any] | None], failures: dict[str, str], skill_dir: str
) -> FleetResult:
    merge = load_analyzer(skill_dir).analyze.merge_partials
    by_source: dict[str, list[dict[str, Any]]] = {}
    for shard, found in zip(shards, partials):
        if found is not None and shard.source not in failures:
            by_source.setdefault(shard.source, []).append(found)
    sources = {name: _named(merge(parts), [name]) for name, parts in by_source.items()}
    everything = [p for name in by_source for p in by_source[name]]
    if everything:
        fleet = _named(merge(everything), list(by_source))
    else:
        fleet = {"summary": {"total": 0}, "health": {"status": "unknown", "rule": "no source could be read"}}
    fleet["fleet"] = {
        "sources": {name: source_row(name, r) for name, r in sources.items()},
        "failed": dict(failures),
    }
    notes = fleet.setdefault("parse", {}).setdefault("notes", [])
    notes.extend(f"source {name} failed and is not in these numbers: {why}" for name, why in failures.items())
    return FleetResult(fleet, sources, dict(failures), shards=len(shards))


def _named(report: dict[str, Any], names: list[str]) -> dict[str, Any]:
    unique = list(dict.fromkeys(names))
    report["sources"] = unique
    report["source"] = ", ".join(unique)
    return report


def _report(agent: MonitoringAgent, result: FleetResult, workdir: Path) -> list[Path]:
    """One incident report for the fleet, written by the agent's fleet report step from the fleet analysis."""
    text = json.dumps(result.analysis, ensure_ascii=False)
    (workdir / ANALYSIS_FILE).write_text(
        skill_code("log-analyzer", "jsondoc").writable(text)[0], encoding="utf-8"
    )
    with agent.start_session(agent.resolve_backend(), working_dir=workdir) as session:
        files = agent.steps.fleet_report.write(StepRun(session, agent.progress, agent.skill))
    if agent.out_dir is not None:
        return copy_out(workdir, [workdir / ANALYSIS_FILE, *files], agent.out_dir)[1:]
    return files
