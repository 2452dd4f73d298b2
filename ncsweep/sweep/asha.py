"""Early stopping of a ζ search's stage-1 trials: one Tune ASHA per search group.

``GroupASHA`` keeps one ``AsyncHyperBandScheduler`` (one bracket, ``time_attr="epoch"``) per
dataset × ssl × augmentation group, since a dataset's accuracies say nothing about another's, and
returns CONTINUE for every other trial (evaluators, stage 2). Its own ``metric`` stays unset so
Tune's strict metric check does not demand the stage-1 metric from stage-2 results. On resume
:meth:`GroupASHA.seed` puts the trials an earlier run finished or stopped back on the rungs they
reached (from their history), so the bar a new trial must clear carries over.
"""

from __future__ import annotations

import json
from pathlib import Path

from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, TrialScheduler

from ncsweep.study import adaptive as A
from ncsweep.study.expand import Trial


class GroupASHA(FIFOScheduler):
    """ASHA per search group over searched stage-1 trials; CONTINUE for every other trial."""

    def __init__(self, spec: A.SearchSpec, max_t: int):
        super().__init__()
        self.spec, self.max_t = spec, max_t
        self.ashas: dict[str, AsyncHyperBandScheduler] = {}
        self.stopped: dict[str, tuple[int, float]] = {}  # our key → (epoch, metric value)

    def _asha(self, trial) -> AsyncHyperBandScheduler | None:
        t: Trial = trial.config["trial"]
        return self._group(t) if A.is_searched(t) else None

    def _group(self, t: Trial) -> AsyncHyperBandScheduler:
        group = A.group_of(t.labels)
        if group not in self.ashas:
            s = self.spec
            self.ashas[group] = AsyncHyperBandScheduler(
                time_attr="epoch", metric=s.metric, mode=s.mode, max_t=self.max_t,
                grace_period=s.grace_period, reduction_factor=s.reduction_factor, brackets=1,
            )  # fmt: skip
        return self.ashas[group]

    def on_trial_add(self, tune_controller, trial) -> None:
        if (asha := self._asha(trial)) is not None:
            asha.on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        asha = self._asha(trial)
        if asha is None or trial.trial_id not in asha._trial_info:
            return TrialScheduler.CONTINUE
        action = asha.on_trial_result(tune_controller, trial, result)
        epoch = int(result.get("epoch", 0))
        if action == TrialScheduler.STOP and epoch < self.max_t and not result.get("done"):
            self.stopped[trial.config["key"]] = (epoch, float(result[self.spec.metric]))
            return action
        return TrialScheduler.CONTINUE  # at max_t the trial finishes on its own

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        asha = self._asha(trial)
        if asha is not None and trial.trial_id in asha._trial_info:
            asha.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller, trial) -> None:
        asha = self._asha(trial)
        if asha is not None and trial.trial_id in asha._trial_info:
            asha.on_trial_remove(tune_controller, trial)

    def seed(self, t: Trial, history: Path) -> None:
        """Record an earlier run's trial ``t`` at each rung its history reached."""
        asha = self._group(t)
        sign = 1.0 if self.spec.mode == "max" else -1.0  # ASHA compares metric_op * value
        values = rung_values(history, self.spec.metric)
        # one bracket (brackets=1): its rungs are [(milestone, {trial id: value}), ...]
        for milestone, recorded in asha._brackets[0]._rungs:
            value = next((v for e, v in values if e >= milestone), None)
            if value is not None:
                recorded[t.key] = sign * value


def rung_values(history: Path, metric: str) -> list[tuple[int, float]]:
    """(epoch, metric) of every epoch in a run's history.jsonl that logged ``metric`` (as Tune
    names it: ``val_recon`` is ``val/recon`` in the history)."""
    out = []
    try:
        lines = history.read_text().splitlines()
    except OSError:
        return out
    for line in filter(str.strip, lines):
        row = json.loads(line)
        value = row.get(metric, row.get(metric.replace("_", "/", 1)))
        if isinstance(value, (int, float)):
            out.append((int(row.get("epoch", 0)), float(value)))
    return out
