"""Progress of long steps in the job logs: done / total, the rate and the time left.

::

    progress = Progress(n_variants, "munge", unit="variants", logger=log)
    for start, block in chunks:
        ...
        progress.advance(block.shape[1])

A line at most every ``every_s`` seconds (and one at the end), so a biobank-scale munge logs a
few dozen lines and a small one logs one.
"""

from __future__ import annotations

import logging
import time

__all__ = ["Progress"]


class Progress:
    def __init__(self, total: int, what: str, *, unit: str, logger: logging.Logger, every_s: float = 10.0) -> None:
        self.total, self.what, self.unit, self.log, self.every_s = int(total), what, unit, logger, every_s
        self.done = 0
        self.t0 = self.last = time.perf_counter()

    def advance(self, n: int) -> None:
        self.done += int(n)
        now = time.perf_counter()
        if now - self.last < self.every_s and self.done < self.total:
            return
        self.last = now
        self.log.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        spent = (time.perf_counter() if now is None else now) - self.t0
        rate = self.done / spent if spent > 0 else float("inf")
        left = (self.total - self.done) / rate if rate > 0 and self.done < self.total else 0.0
        share = 100.0 * self.done / self.total if self.total else 100.0
        return (f"{self.what}: {self.done:,}/{self.total:,} {self.unit} ({share:.0f}%), {rate:,.0f} {self.unit}/s, "
                f"{spent:.0f} s spent, about {left:.0f} s left")
