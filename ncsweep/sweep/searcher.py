"""A Tune searcher that hands out the study's trials in dependency order, in ONE Tune run.

``suggest`` returns a ready trial (all dependencies done): first any trial that waited on
others (a stage-2 trial starts as soon as its stage 1 and evaluator are done, while other
stage-1 trials still run: no barrier between stages), then the most urgent of the rest
(urgency = its own estimated cost plus the longest chain of dependents behind it, so long
chains start first and the tail is short), ``None`` while the rest wait on running trials, and ``Searcher.FINISHED``
when nothing remains. A trial that fails for good makes every trial that depends on it,
directly or not, ``skipped`` (reason in its state.json); the study still finishes.
The storage ledger is the source of truth: trials it records as done are never suggested.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ray.tune.search import Searcher

from ncsweep.study.expand import Trial, as_trial
from ncsweep.study.timings import trial_cost
from ncsweep.sweep.ledger import STATES, Ledger

ConfigFor = Callable[[Trial], dict[str, Any]]
Trials = Sequence[Trial | Mapping[str, Any]]  # Trials, or the plan's JSON form of them


def _cost(t: Trial | Mapping[str, Any]) -> float:
    t = as_trial(t)
    lab = t.labels
    return trial_cost(t.stage, lab.get("dataset", ""), t.epochs, lab.get("ssl"))


def priorities(trials: Trials) -> dict[str, float]:
    """cost(t) + max over dependents of their priority (trials come in topological order)."""
    trials = [as_trial(t) for t in trials]
    dependents: dict[str, list[str]] = {t.key: [] for t in trials}
    for t in trials:
        for dep in t.depends_on:
            dependents[dep].append(t.key)
    prio: dict[str, float] = {}
    for t in reversed(trials):
        tail = max((prio[d] for d in dependents[t.key]), default=0.0)
        prio[t.key] = _cost(t) + tail
    return prio


def suggestion_order(trials: Trials) -> list[str]:
    """The order the searcher hands out ready trials: dependents (stage 2) before roots, so a
    stage-2 trial starts as soon as it can; within each group the most urgent first (priority)."""
    prio = priorities(trials)
    has_deps = {t.key: bool(t.depends_on) for t in map(as_trial, trials)}
    return sorted(has_deps, key=lambda k: (not has_deps[k], -prio[k]))


class DependencySearcher(Searcher):
    """Suggests ``config_for(trial)`` for each trial of ``trials`` once its dependencies are done."""

    def __init__(self, trials: Trials, ledger: Ledger, config_for: ConfigFor):
        super().__init__(metric=None, mode=None)
        trials = [as_trial(t) for t in trials]
        self.trials = {t.key: t for t in trials}
        self.ledger = ledger
        self.config_for = config_for
        self.order = suggestion_order(trials)
        self.dependents: dict[str, list[str]] = {k: [] for k in self.trials}
        for t in trials:
            for dep in t.depends_on:
                self.dependents[dep].append(t.key)
        self.status: dict[str, str] = {}
        self.errors: dict[str, str] = {}  # failed / skipped key → reason
        self.live: dict[str, str] = {}  # Tune trial id → our key
        self.sync_with_ledger()

    def sync_with_ledger(self) -> None:
        """Done trials stay done; everything else (failed, skipped, stale running) runs again.
        A storage error on one trial's directory fails that trial only (issue 13 §2)."""
        for key in self.trials:
            done = self.ledger.is_done(key)
            self.status[key] = "done" if done else "pending"
            if not done and self.ledger.state(key) != "pending":
                self.ledger.safe_update(key, state="pending", error=None)
        self._verify_needed_checkpoints()

    def _verify_needed_checkpoints(self) -> None:
        """A done trial whose checkpoint a pending trial will load must still hold the bytes it
        finished with (content hash in its state.json, issue 13 §5); if not, it is set aside and
        the trial runs again (from its previous checkpoint, or from the start)."""
        for key, state in self.status.items():
            waiting = any(self.status[d] == "pending" for d in self.dependents[key])
            if state != "done" or not waiting:
                continue
            why = self.ledger.verify_checkpoint(key, full=False)
            if why:
                self.ledger.quarantine_checkpoint(key, why)
                self.status[key] = "pending"

    # -- Tune's Searcher interface --------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        for key in self.order:
            if self.status[key] == "pending" and self._ready(key):
                self.status[key] = "running"
                self.live[trial_id] = key
                return self.config_for(self.trials[key])
        if "running" in self.status.values():
            return None
        return Searcher.FINISHED

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        key = self.live.pop(trial_id, None)
        if key is None:
            return
        if not error and self.ledger.is_done(key):
            self.status[key] = "done"
            return
        reason = self.ledger.read(key).get("error") or "trial failed (see Ray's error.txt)"
        if not error:  # ended without metrics: failed for good (bad data/config) or lost them
            lost = "trial ended without writing metrics.json"
            reason = (result or {}).get("ncsweep_error") or lost
        self.status[key] = "failed"
        self.errors[key] = reason
        self.ledger.mark_failed(key, reason)
        self._skip_dependents(key, reason)

    # -- dependencies ---------------------------------------------------------------------
    def _ready(self, key: str) -> bool:
        return all(self.status.get(d) == "done" for d in self.trials[key].depends_on)

    def _skip_dependents(self, key: str, reason: str) -> None:
        for dep in self.dependents[key]:
            if self.status[dep] == "pending":
                self.status[dep] = "skipped"
                self.errors[dep] = f"dependency {key} failed: {reason}"
                self.ledger.mark_skipped(dep, self.errors[dep])
                self._skip_dependents(dep, reason)

    def reconcile(self) -> None:
        """After the Tune run: the ledger says what the searcher decided. (A trial actor that
        Tune set up and then dropped may have marked a failed trial running.)"""
        for key, state in self.status.items():
            if state in ("failed", "skipped") and self.ledger.state(key) != state:
                self.ledger.safe_update(key, state=state, error=self.errors.get(key))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per stage: how many trials are pending / running / done / failed / skipped."""
        out: dict[str, dict[str, int]] = {}
        for key, state in self.status.items():
            row = out.setdefault(self.trials[key].stage, dict.fromkeys(STATES, 0))
            row[state] += 1
        return out

    # -- Tune's restore (the ledger still wins: sync_with_ledger runs after) -------------
    def get_state(self) -> dict[str, Any]:
        return {"status": dict(self.status), "live": dict(self.live)}

    def set_state(self, state: dict[str, Any]) -> None:
        self.status.update(state["status"])
        self.live = dict(state["live"])

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as fh:
            pickle.dump(self.get_state(), fh)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as fh:
            self.set_state(pickle.load(fh))
        for key, state in self.status.items():
            if state == "running" or (state == "done" and not self.ledger.is_done(key)):
                self.status[key] = "pending"  # it will run again, from its checkpoint
