"""Finishing long work cleanly on SIGTERM / SIGINT: the signal sets a flag that the work polls (``synthesize.py``)."""

from __future__ import annotations

import signal
import sys

__all__ = ["StopOnSignal"]


class StopOnSignal:
    """SIGTERM / SIGINT during the synthesis set a flag instead of killing the process: the optimization ends at
    its next evaluation, the best samples so far are written, and the command exits 143 / 130."""

    def __enter__(self):
        self.received: int | None = None
        self._previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            print(f"\nreceived signal {signum}: finishing the current iteration and writing the best samples so far",
                  file=sys.stderr, flush=True)
        self.received = signum

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
