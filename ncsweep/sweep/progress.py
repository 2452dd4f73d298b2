"""Live progress of a study on stderr: the per-stage counts on every change, each running trial's
epoch/total and latest metric at least once a minute, and a failed trial's one-line reason where
it happens (issue 14 §2, §5). Tune's own console output is turned off: stdout stays clean."""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import IO, Any

from ray.tune import Callback

from ncsweep.study.expand import STAGES
from ncsweep.sweep.ledger import STATES

EVERY_S = float(os.environ.get("NCSWEEP_PROGRESS_S", "60"))  # a 1000-epoch trial runs for hours
# the metric shown per running trial: the first of these a result holds
HEADLINE = ("train_total", "train_prior_loss", "train_loss", "val_recon", "val_prior_loss")
FAILED_KEY = "ncsweep_error"  # trainables.FAILED_KEY: a trial that failed for good


def quiet_tune_output() -> None:
    """No 'Number of trials 9223372036854775807' box or TensorBoard hint from Tune, and not its
    TensorBoard logger's note echoing every trial's whole config: this callback reports. (Tune's
    result loggers stay on: turned off, stage 2 no longer started while a long stage 1 ran, in
    tests/test_sweep_run.py.)"""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # verbose=0 then prints nothing
    logging.getLogger("ray.tune.logger.tensorboardx").setLevel(logging.WARNING)


def format_counts(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for stage in STAGES:
        if stage in counts:
            c = counts[stage]
            parts.append(f"{stage}: " + " ".join(f"{s} {c.get(s, 0)}" for s in STATES))
    return " | ".join(parts)


def headline(result: dict[str, Any]) -> str:
    for name in HEADLINE:
        value = result.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{name} {value:.4g}"
    return ""


def _key(trial: Any) -> str:
    return trial.config.get("key", str(trial))


class ProgressCallback(Callback):
    """Prints to ``stream`` (stderr by default); never to stdout."""

    def __init__(self, searcher: Any, stream: IO[str] | None = None, every_s: float = EVERY_S):
        self.searcher, self.stream, self.every_s = searcher, stream or sys.stderr, every_s
        self.last = ""
        self.latest: dict[str, str] = {}  # trial key → "epoch 4/1000  train_total 0.53"
        self.next_beat = time.time() + every_s

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment state; a stream does not pickle
        return {**self.__dict__, "stream": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.stream = self.stream or sys.stderr

    def _say(self, line: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {line}", file=self.stream, flush=True)

    def _print(self) -> None:
        line = format_counts(self.searcher.counts())
        if line != self.last:
            self.last = line
            self._say(line)

    def _reason(self, trial: Any) -> str:
        last = getattr(trial, "last_result", None) or {}
        ledger = getattr(self.searcher, "ledger", None)
        error = last.get(FAILED_KEY) or (ledger.read(_key(trial)).get("error") if ledger else None)
        return str(error or "see Ray's error.txt").splitlines()[0]

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._print()

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        total = getattr(trial.config.get("trial"), "epochs", None)
        epoch = result.get("epoch")
        if epoch is not None:
            self.latest[_key(trial)] = "  ".join(
                filter(None, [f"epoch {int(epoch)}/{total or '?'}", headline(result)])
            )

    def on_step_end(self, iteration, trials, **info) -> None:
        if time.time() < self.next_beat:
            return
        self.next_beat = time.time() + self.every_s
        for trial in trials:
            if trial.status == "RUNNING":
                self._say(f"  {_key(trial)}  {self.latest.get(_key(trial), 'starting')}")

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        if FAILED_KEY in (getattr(trial, "last_result", None) or {}):
            self._say(f"FAILED {_key(trial)} (not retried): {self._reason(trial)}")
        self._print()

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        self._say(f"retrying {_key(trial)} from its last checkpoint: {self._reason(trial)}")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._say(f"FAILED {_key(trial)}: {self._reason(trial)}")
        self._print()

    def on_experiment_end(self, trials, **info) -> None:
        self._print()
