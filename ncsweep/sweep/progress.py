"""Live progress of a study: one line per change, per stage pending/running/done/failed/skipped."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from ray.tune import Callback

from ncsweep.study.expand import STAGES
from ncsweep.sweep.ledger import STATES


def format_counts(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for stage in STAGES:
        if stage in counts:
            c = counts[stage]
            parts.append(f"{stage}: " + " ".join(f"{s} {c.get(s, 0)}" for s in STATES))
    return " | ".join(parts)


class ProgressCallback(Callback):
    """Prints the searcher's counts whenever they change (to stderr by default)."""

    def __init__(self, searcher: Any, stream: IO[str] | None = None):
        self.searcher, self.stream = searcher, stream or sys.stderr
        self.last = ""

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment state; a stream does not pickle
        return {**self.__dict__, "stream": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.stream = self.stream or sys.stderr

    def _print(self) -> None:
        line = format_counts(self.searcher.counts())
        if line != self.last:
            self.last = line
            print(f"[{time.strftime('%H:%M:%S')}] {line}", file=self.stream, flush=True)

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._print()

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._print()

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._print()

    def on_experiment_end(self, trials, **info) -> None:
        self._print()
