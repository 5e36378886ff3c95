"""How long stopping a fake server takes (the suite stops one for every test that starts one).

Prints one JSON line: the median stop time now, beside the same server stopped with socketserver's
default 0.5 s shutdown poll, measured in the same run.
"""

from __future__ import annotations

import json
import statistics
import time

from conjure_nb.testing import FakeAnthropicServer, _serve
from conjure_nb.testing._demo_server import DemoLogServer

RUNS = 20


def median_stop_ms(make: type, poll: float) -> float:
    saved, _serve.POLL_INTERVAL = _serve.POLL_INTERVAL, poll
    try:
        times = []
        for _ in range(RUNS):
            server = make().start()
            time.sleep(0.01)  # serving, as a test would be
            t0 = time.perf_counter()
            server.stop()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000
    finally:
        _serve.POLL_INTERVAL = saved


def main() -> None:
    for name, make in (
        ("demo_log_server", lambda: DemoLogServer(records=10)),
        ("fake_anthropic", FakeAnthropicServer),
    ):
        now = median_stop_ms(make, _serve.POLL_INTERVAL)  # type: ignore[arg-type]
        before = median_stop_ms(make, 0.5)  # type: ignore[arg-type]
        print(
            json.dumps(
                {
                    "bench": f"{name}_stop",
                    "median_ms": round(now, 1),
                    "baseline_default_poll_ms": round(before, 1),
                    "runs": RUNS,
                }
            )
        )


if __name__ == "__main__":
    main()
