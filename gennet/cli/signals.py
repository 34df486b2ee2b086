"""Finishing long work cleanly on SIGTERM / SIGINT (``synthesize.py``): during the set-up a signal ends the command at
once (nothing has been computed or written yet); during the work it sets a flag that the work polls, so that the
results so far are written before the command exits with ``128 + signal`` (143 / 130)."""

from __future__ import annotations

import signal
import sys

__all__ = ["Interrupted", "StopOnSignal", "exit_status"]


def exit_status(signum: int) -> int:
    """The exit status of a command ended by ``signum``, as a shell reports it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(signum)


class Interrupted(BaseException):
    """Raised by :class:`StopOnSignal` for a signal that arrives before :meth:`StopOnSignal.defer` (a
    ``BaseException``, so that no ``except Exception`` of the set-up turns it into another error)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)


class StopOnSignal:
    """Handlers for SIGTERM and SIGINT, installed on entry and restored on exit.

    Until :meth:`defer` is called a signal raises :class:`Interrupted` where the program is (the set-up: checks,
    reading the image, building the statistics); after it, the signal only sets :attr:`received`, which the work polls
    (the optimization ends at its next evaluation, the best samples so far are written)."""

    def __enter__(self):
        self.received: int | None = None
        self._deferred = False
        self._previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def defer(self) -> None:
        """From now on a signal sets :attr:`received` instead of raising (a signal already received stays received)."""
        self._deferred = True

    def _handle(self, signum, frame) -> None:
        if not self._deferred:
            raise Interrupted(signum)
        if self.received is None:
            print(f"\nreceived signal {signum}: finishing the current iteration and writing the best samples so far",
                  file=sys.stderr, flush=True)
        self.received = signum

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
