"""CPU seconds per process while something runs: every process on the machine, sampled.

Benchmarks use it to say where a run's CPU went (the part under test, Ray's own
processes, everything else), so a ratio against a baseline can be split into CPU the
work did not get and CPU it used less well.
"""

from __future__ import annotations

import os
import threading
import time

import psutil


class CpuSampler:
    """CPU seconds used by each process between ``__enter__`` and ``__exit__``.

    Sampled every ``every_s`` in a thread, so a process that exits before the end (Ray Data
    stops its actor pools when the dataset is done) still counts up to its last sample.
    """

    def __init__(self, every_s: float = 2.0) -> None:
        self.every_s, self.first, self.last, self.names = every_s, {}, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> CpuSampler:
        self.started = time.perf_counter()
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds = time.perf_counter() - self.started

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        for proc in psutil.process_iter():
            try:
                times = proc.cpu_times()  # the title too: a Ray worker retitles itself
                self.names[proc.pid] = " ".join(proc.cmdline())[:200] or proc.name()
            except psutil.Error:
                continue
            used = times.user + times.system
            if first:
                self.first[proc.pid] = used
            self.last[proc.pid] = used

    def used(self) -> dict[int, tuple[str, float]]:
        """``pid -> (command line, CPU seconds used)``; this process is titled ``driver``."""
        out = {}
        for pid, last in self.last.items():
            name = "driver" if pid == os.getpid() else self.names.get(pid, "")
            out[pid] = (name, last - self.first.get(pid, 0.0))
        return out


def grouped(used: dict[int, tuple[str, float]], group) -> dict[str, float]:
    """CPU seconds summed by ``group(pid, name)``, largest first."""
    groups: dict[str, float] = {}
    for pid, (name, seconds) in used.items():
        key = group(pid, name)
        groups[key] = groups.get(key, 0.0) + seconds
    return {g: round(v, 1) for g, v in sorted(groups.items(), key=lambda x: -x[1])}
