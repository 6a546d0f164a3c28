"""Sampling for the measured properties (read-your-writes per write kind, the races), in the quiet
"measure" phase: a sample is taken again and again, on a few lanes (threads, so on several already-open
connections) until the sample size `--min-detectable-rate` asks for is reached, or until the run's
time budget or a stop ends the sampling first (then the property is "inconclusive")."""

from __future__ import annotations

import concurrent.futures
import math
import statistics
import threading
import time
from collections.abc import Callable

from contract_tests.cancel import Cancelled
from contract_tests.context import RunContext
from contract_tests.parallel import ChargedThreadPool
from contract_tests.rates import sample_size

LANES = 4
"""Samples taken at once, at least: few enough that the target is not loaded (a read-back slowed by
load hides brief faults). A far deployment gets more lanes (see `lanes_for`), up to MAX_LANES."""
MAX_LANES = 64
STRAGGLERS_MIN = 0.25  # s a sample still under way is waited for once enough are in, at least
STRAGGLERS_FACTOR = 3.0  # ... or this many typical sample times
SHAPE_SECONDS = 0.75  # the wall time one measured shape aims at: 8 shapes stay within ~15 s at 120 ms an answer


def lanes_for(sample_seconds: float, samples: int) -> int:
    """Lanes so that `samples` samples of `sample_seconds` each take about SHAPE_SECONDS: LANES on
    loopback (a sample takes a few ms), more far away (at 20-120 ms an answer, a sample takes about
    0.2 s: 64). The load stays below a loopback run's: 64 lanes 0.2 s apart send fewer requests a
    second than 4 lanes a few ms apart."""
    wanted = math.ceil(samples * sample_seconds / SHAPE_SECONDS)
    return max(LANES, min(MAX_LANES, wanted))


def needed(contract_run: RunContext) -> int:
    """The sample size a conclusive pass needs (299 at the default 1 %)."""
    return sample_size(contract_run.options.min_detectable_rate)


class Sampler:
    """Takes samples on `lanes` threads until `enough()` holds, the budget is used up, the run stops, or
    `attempts` tries were made. `taken` counts attempts (each a call of the sample function). Without
    `lanes`, the first sample is taken alone and timed, and the lanes are `lanes_for` its time."""

    def __init__(self, contract_run: RunContext, lanes: int | None = None) -> None:
        self.run = contract_run
        self.lanes = lanes
        self.taken = 0
        self._lock = threading.Lock()
        self._broken = threading.Event()  # a sample raised: the other lanes stop too

    def out_of_time(self) -> bool:
        return self.run.over_budget() or self.run.cancel.cancelled

    def sample(self, take: Callable[[int], None], enough: Callable[[], bool], attempts: int, samples: int | None = None) -> None:
        """Run `take(i)` (i: the attempt's number) until done; an exception of a sample (a violation,
        no answer) ends the sampling and is raised here; a stop (Cancelled) only ends it."""

        settled = threading.Event()  # enough samples are in, or every lane has ended
        durations: list[float] = []  # seconds each finished sample took

        def lane() -> None:
            while not enough() and not self.out_of_time() and not self._broken.is_set():
                with self._lock:
                    if self.taken >= attempts:
                        return
                    number = self.taken
                    self.taken += 1
                began = time.monotonic()
                try:
                    take(number)
                except Cancelled:
                    return
                except BaseException:
                    self._broken.set()
                    raise
                durations.append(time.monotonic() - began)
            settled.set()

        lanes = self.lanes
        if lanes is None:
            began = time.monotonic()
            with ChargedThreadPool(max_workers=1, name="contract-measure") as pool:
                first = pool.submit(lambda: self._first(take, enough, attempts))
            first.result()
            lanes = lanes_for(time.monotonic() - began, samples or attempts)
        self.lanes = lanes
        running = [lanes]

        def counted() -> None:
            try:
                lane()
            finally:
                with self._lock:
                    running[0] -= 1
                    if running[0] == 0:
                        settled.set()

        pool = ChargedThreadPool(max_workers=lanes, name="contract-measure")
        futures = [pool.submit(counted) for _ in range(lanes)]
        pool.shutdown(wait=False)
        settled.wait()
        # Samples still under way once enough are in get a few typical sample times; one held up by a
        # stalled answer (1.5 s at 1 % of answers, far away) is left to finish on its own, unread.
        typical = statistics.median(durations) if durations else 0.0
        concurrent.futures.wait(futures, timeout=max(STRAGGLERS_MIN, STRAGGLERS_FACTOR * typical))
        self.run.stragglers.extend(future for future in futures if not future.done())  # cleanup waits for them
        for future in futures:
            if future.done():
                future.result()

    def _first(self, take: Callable[[int], None], enough: Callable[[], bool], attempts: int) -> None:
        if enough() or self.out_of_time() or attempts <= 0:
            return
        with self._lock:
            self.taken += 1
        try:
            take(0)
        except Cancelled:
            return
