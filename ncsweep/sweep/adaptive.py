"""The adaptive ζ search inside the study's one dependency-aware Tune run (issue 17 §2).

:class:`SearchingSearcher` is the :class:`DependencySearcher` with stage-1 trials made on demand:
when no known trial is ready and a group (dataset × ssl × augmentation) has budget left, it asks
that group's inner Tune ``OptunaSearch`` (TPE) for ζ and builds the trial with the grid's rules
(``study/adaptive.py``), adds it to the ledger's plan and hands it out. Stage 2 follows only a
stage-1 trial that finished. ``sweep/asha.py``'s :class:`GroupASHA` stops them early (one Tune
ASHA per group).

A trial ASHA stops ends ``skipped`` in the ledger with ``stopped_early: <epoch>`` and the reason
("stopped early by ASHA at epoch N ..."): ``status`` prints it, ``resume`` keeps it (it never runs
again) and still counts it against the budget, and Optuna is told it was pruned. On resume the
inner searchers are warm-started from the ledger (finished trials with their final metric,
stopped ones as pruned) and ASHA's rungs from their histories, so the budget, TPE's history
and the bar a new trial must clear carry over.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

from ray.tune.search.optuna import OptunaSearch

from ncsweep.fsutil import atomic_write_text
from ncsweep.study import adaptive as A
from ncsweep.study.expand import Trial
from ncsweep.sweep.asha import GroupASHA
from ncsweep.sweep.ledger import PLAN, Ledger, read_json
from ncsweep.sweep.searcher import DependencySearcher


class SearchingSearcher(DependencySearcher):
    """Dependency order for known trials; new searched stage-1 trials while budget lasts."""

    def __init__(self, space, trials, ledger: Ledger, config_for: Callable, scheduler: GroupASHA):
        self.space, self.spec, self.scheduler = space, space.search, scheduler
        super().__init__(trials, ledger, config_for)
        self.groups = {A.group_of(g): g for g in A.groups(space)}
        self.evaluators = {t.labels["dataset"]: t for t in self.trials.values()
                           if t.stage == "evaluator"}  # fmt: skip
        self.made = {g: 0 for g in self.groups}
        self.sids: dict[str, str] = {}  # our key → the inner searcher's trial id (this run)
        self.asked = 0
        self.inner = {g: self._optuna(g) for g in self.groups}
        for t in list(self.trials.values()):
            if A.is_searched(t):
                self.made[A.group_of(t.labels)] += 1
                self._warm_start(t)

    def _optuna(self, group: str) -> OptunaSearch:
        try:
            import optuna
        except ImportError as exc:
            raise RuntimeError(
                f"{self.space.source}: stage1.search needs optuna (pip install 'ncsweep[search]')"
            ) from exc
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per study created
        s = self.spec
        sampler = optuna.samplers.TPESampler(
            n_startup_trials=s.n_startup_trials, seed=s.seed + list(self.groups).index(group)
        )
        dist = optuna.distributions.FloatDistribution(s.low, s.high, log=s.log)
        return OptunaSearch({"zeta": dist}, metric=s.metric, mode=s.mode, sampler=sampler)

    # -- the ledger: stopped trials stay stopped -----------------------------------------
    def sync_with_ledger(self) -> None:
        for key in self.trials:
            st = self.ledger.read(key)
            if st.get("state") == "skipped" and st.get("stopped_early"):
                self.status[key], self.errors[key] = "skipped", st.get("error") or "stopped"
            elif self.ledger.is_done(key):
                self.status[key] = "done"
            else:
                self.status[key] = "pending"
                if st.get("state", "pending") != "pending":
                    self.ledger.update(key, state="pending", error=None)

    def _warm_start(self, t: Trial) -> None:
        """Tell TPE what earlier runs of this study found; a done trial without stage 2 gets it."""
        inner, zeta = self.inner[A.group_of(t.labels)], {"zeta": t.config["ssl"]["zeta"]}
        st = self.ledger.read(t.key)
        if self.status[t.key] == "done" or st.get("stopped_early"):
            self.scheduler.seed(t, self.ledger.trial_dir(t.key) / "history.jsonl")
        if self.status[t.key] == "done":
            value = self._final(t.key)
            if value is not None:
                inner.add_evaluated_point(zeta, value)
            self._add_stage2(t)
        elif st.get("stopped_early"):
            inner.add_evaluated_point(zeta, None, pruned=True,
                                      intermediate_values=[st.get("stopped_value")])  # fmt: skip

    def _final(self, key: str) -> float | None:
        value = (read_json(self.ledger.trial_dir(key) / "metrics.json") or {}).get(self.spec.metric)
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        return float(value) if ok else None

    # -- suggestions -----------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        known = super().suggest(trial_id)
        if isinstance(known, dict):
            return known
        trial = self._new_stage1()
        if trial is None:
            return known  # None while trials run, FINISHED when nothing is left
        self.status[trial.key] = "running"
        self.live[trial_id] = trial.key
        return self.config_for(trial)

    def _new_stage1(self) -> Trial | None:
        """A new searched trial of the group with the fewest so far, or None (budget spent)."""
        cap = self.spec.max_concurrent or self.spec.trials
        running = [A.group_of(self.trials[k].labels) for k, s in self.status.items()
                   if s == "running" and A.is_searched(self.trials[k])]  # fmt: skip
        open_ = [g for g, n in self.made.items() if n < self.spec.trials and running.count(g) < cap]
        if not open_:
            return None
        group = min(open_, key=lambda g: self.made[g])
        for _ in range(20):  # TPE may propose a ζ that rounds onto an existing trial
            self.asked += 1
            sid = f"{group}#{self.asked}"  # the inner searcher's trial id
            zeta = A.round_zeta(self.inner[group].suggest(sid)["zeta"])
            trial = A.stage1_trial(self.space, self.groups[group], zeta, self.made[group])
            if trial.key not in self.trials:
                break
            self.inner[group].on_trial_complete(sid, None, error=True)
        else:
            return None
        self.sids[trial.key] = sid
        self.made[group] += 1
        self._register(trial)
        return trial

    def _register(self, t: Trial, first: bool = False) -> None:
        self.trials[t.key] = t
        self.dependents[t.key] = []
        for dep in t.depends_on:
            self.dependents[dep].append(t.key)
        self.status[t.key] = "pending"
        self.order.insert(0, t.key) if first else self.order.append(t.key)
        plan = [x.to_dict() for x in self.trials.values()]
        atomic_write_text(self.ledger.storage / PLAN, json.dumps(plan, indent=1, default=str))

    def _add_stage2(self, s1: Trial) -> None:
        ev = self.evaluators.get(s1.labels["dataset"])
        t = A.stage2_trial(self.space, s1, ev) if ev is not None else None
        if t is not None and t.key not in self.trials:
            self._register(t, first=True)  # dependents first, as the base orders them
            if self.ledger.is_done(t.key):
                self.status[t.key] = "done"

    def reconcile(self) -> None:
        """After the Tune run: the ledger as the base has it, and the search's log (search.md)."""
        super().reconcile()
        from ncsweep.sweep.search_log import write_search_log

        any_trial = next(iter(self.trials.values()), None)
        write_search_log(self, self.config_for(any_trial).get("tracking") if any_trial else None)

    # -- results ---------------------------------------------------------------------------
    def on_trial_result(self, trial_id: str, result: dict) -> None:
        key = self.live.get(trial_id)
        sid = self.sids.get(key) if key else None
        value = result.get(self.spec.metric)
        if sid and isinstance(value, (int, float)) and math.isfinite(value):
            self.inner[A.group_of(self.trials[key].labels)].on_trial_result(sid, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False):
        key = self.live.get(trial_id)
        t = self.trials.get(key) if key else None
        if t is None or not A.is_searched(t):
            return super().on_trial_complete(trial_id, result, error)
        inner, sid = self.inner[A.group_of(t.labels)], self.sids.get(key)
        if key in self.scheduler.stopped:
            self.live.pop(trial_id)
            return self._stopped(t, inner, sid)
        super().on_trial_complete(trial_id, result, error)
        if self.status[key] == "done":
            value = self._final(key)
            if sid:
                inner.on_trial_complete(sid, {self.spec.metric: value} if value is not None else None)
            self._add_stage2(t)
        elif sid:
            inner.on_trial_complete(sid, None, error=True)

    def _stopped(self, t: Trial, inner: OptunaSearch, sid: str | None) -> None:
        epoch, value = self.scheduler.stopped[t.key]
        reason = A.STOP_REASON.format(epoch=epoch, metric=self.spec.metric, value=value)
        self.status[t.key], self.errors[t.key] = "skipped", reason
        self.ledger.update(t.key, state="skipped", error=reason, stopped_early=epoch,
                           stopped_value=value, end=time.time())  # fmt: skip
        if sid:
            inner.on_trial_complete(sid, None)  # no value, no error: Optuna records it pruned
        _tag_stopped(self.config_for(t).get("tracking"), t.key, epoch, reason)


def _tag_stopped(info: dict | None, key: str, epoch: int, reason: str) -> None:
    """Tag the stopped trial's MLflow run (it ends KILLED, which tables leave out); never fatal."""
    if not info:
        return
    try:
        from ncsweep.tracking import client as C

        client = C.make_client(info["uri"])
        exp = C.experiment_id(client, info["study"], info["uri"])
        for run in C.find_runs(client, exp, {"ncsweep.trial_key": key}):
            C.set_tags(client, run.info.run_id, {"ncsweep.stopped_early": epoch,
                                                 "ncsweep.stop_reason": reason})  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the ledger holds the reason; tracking may be down
        warnings.warn(f"trial {key}: stop not tagged in MLflow ({exc})", stacklevel=2)


# -- what the driver calls ------------------------------------------------------------------
def make_search(space, trials, ledger: Ledger, config_for: Callable):
    """(searcher, scheduler) of a study: the plain dependency searcher and Tune's default
    scheduler for a grid; the searching one and per-group ASHA for an adaptive search."""
    if getattr(space, "search", None) is None:
        return DependencySearcher(trials, ledger, config_for), None
    max_t = A.budget(space)["scheduler"]["max_t"]
    scheduler = GroupASHA(space.search, max_t)
    return SearchingSearcher(space, trials, ledger, config_for, scheduler), scheduler


def searched_trials(space, trials: list[Trial], ledger: Ledger) -> list[Trial]:
    """The expanded trials plus those an earlier run of this search made (from plan.json), so a
    resume neither forgets nor repeats them."""
    if getattr(space, "search", None) is None:
        return trials
    known = {t.key for t in trials}
    try:
        plan = ledger.plan()
    except FileNotFoundError:
        return trials
    made = [Trial.from_dict(d) for d in plan if d["key"] not in known]
    return trials + [t for t in made if t.stage != "evaluator"]


def all_done(searcher: DependencySearcher) -> bool:
    """Nothing left to run: every trial done (or stopped early) and no search budget left."""
    if isinstance(searcher, SearchingSearcher):
        left = any(n < searcher.spec.trials for n in searcher.made.values())
        stopped = {k for k, s in searcher.status.items() if s == "skipped"
                   and searcher.ledger.read(k).get("stopped_early")}  # fmt: skip
        return not left and all(s == "done" or k in stopped for k, s in searcher.status.items())
    return all(s == "done" for s in searcher.status.values())


__all__ = ["GroupASHA", "SearchingSearcher", "all_done", "make_search", "searched_trials"]
