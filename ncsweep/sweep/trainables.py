"""The Ray Tune trainable: one class for every stage, dispatching on ``config["stage"]``.

A trial's run directory is ``<storage>/trials/<key>/``; the trainer writes ``checkpoint.pt``
there and resumes from it, so a relaunch after a driver kill, or a Tune retry after a crash
(``FailureConfig``), continues from the last checkpoint rather than epoch 0. One ``step()`` is
``epochs_per_step`` epochs. ``reset_config`` lets Tune reuse the actor (``reuse_actors=True``).

Test seam (tests/test_sweep_run.py): ``NCSWEEP_TEST_FAIL="<key part>@<epoch>[:always],..."`` makes
a trial whose key contains ``<key part>`` raise once it has trained ``<epoch>`` epochs, on its
first attempt only unless ``:always``; ``:data`` raises a DataError (failed once, no retry).
Unset in normal use.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from typing import Any

import ray
import torch
from ray import tune

from ncsweep.config import ConfigError
from ncsweep.data import DataError
from ncsweep.stages import STAGES
from ncsweep.study.expand import Trial
from ncsweep.sweep.ledger import Ledger
from ncsweep.sweep.progress import FAILED_KEY
from ncsweep.sweep.stages import make_trainer
from ncsweep.sweep.tracking_hook import TrialTracking
from ncsweep.train.common import CheckpointError

FAIL_ENV = "NCSWEEP_TEST_FAIL"
# Bad input fails the same way on every attempt: the trial fails once, without Tune's retries
# and their tracebacks (issue 14 §2); the reason goes to the ledger and the driver's stderr.
WILL_FAIL_AGAIN = (ConfigError, DataError)
# Storage errors that a retry a second later meets again (issue 13 §2): a directory the trial
# cannot write (permissions, a read-only mount, a file in its place) or a full disk. The trial
# fails once with the path in its reason; `ncsweep resume` reruns it once the storage is fixed.
STORAGE_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EEXIST, errno.ENOTDIR}
)


def will_fail_again(exc: BaseException) -> bool:
    """Bad input, or storage that stays broken: not worth Tune's retries."""
    if isinstance(exc, WILL_FAIL_AGAIN):
        return True
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS


class InjectedFailure(RuntimeError):
    """Raised by the NCSWEEP_TEST_FAIL seam."""


class IncompleteResults(RuntimeError):
    """A trained trial whose scoring left a promised metric missing or NaN."""


def trial_resources(config: dict[str, Any]) -> tune.PlacementGroupFactory:
    """Tune's resource request of a trial, from the search space (``{gpu, cpu}``)."""
    res = config["trial"].resources
    bundle = {"CPU": float(res.get("cpu", 1.0)), "GPU": float(res.get("gpu", 1.0))}
    return tune.PlacementGroupFactory([{k: v for k, v in bundle.items() if v > 0} or {"CPU": 0.01}])


def _device(requested: str) -> str:
    """CUDA only when Ray gave this trial a GPU and torch can use it (logical GPUs exist)."""
    if requested not in ("auto", "", None):
        return requested
    return "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"


def _maybe_fail(key: str, epoch: int, attempts: int) -> None:
    for spec in filter(None, os.environ.get(FAIL_ENV, "").split(",")):
        part, _, rest = spec.partition("@")
        at, _, mode = rest.partition(":")
        if part in key and epoch >= int(at) and mode == "data":  # bad input: fails for good
            raise DataError(f"{FAIL_ENV}: injected data error of {key} at epoch {epoch}")
        if part in key and epoch >= int(at) and (mode == "always" or attempts <= 1):
            raise InjectedFailure(f"{FAIL_ENV}: injected failure of {key} at epoch {epoch}")


class StudyTrainable(tune.Trainable):
    """Runs one trial of a study: an evaluator, a stage-1 or a stage-2 run."""

    def setup(self, config: dict[str, Any]) -> None:
        _quiet_actor_exit()
        trial: Trial = config["trial"]
        self.cfg = STAGES[trial.stage].typed_config(config["config"], f"trial {trial.key}")
        # Nothing else here: Tune may construct an actor with a trial's config and then run that
        # trial on a reused actor instead; only the actor that steps a trial touches its files.
        self.config_, self.trial, self.trainer = config, trial, None

    def _begin(self) -> None:
        config, trial = self.config_, self.trial
        self.key, self.stage = trial.key, trial.stage
        self.ledger = Ledger(config["storage"])
        self.out = self.ledger.trial_dir(self.key)
        self.out.mkdir(parents=True, exist_ok=True)
        self.epochs_per_step = trial.epochs_per_step
        cpus = max(1, int(trial.resources.get("cpu", 1)))
        torch.set_num_threads(cpus)  # two 1-CPU trials on 2 cores must not fight
        node = ray.get_runtime_context().get_node_id()
        self.attempts = self.ledger.mark_running(self.key, node)["attempts"]
        stage = STAGES[self.stage]
        requested = self.cfg.run.device if stage.device_from_config else "auto"
        self._check_dependencies()
        self.trainer = make_trainer(self.stage, self.cfg, self.out, _device(requested))
        note = self.trainer.resume_latest() if stage.checkpointed else None
        if note:  # a corrupt checkpoint: fell back to the one before, or started over (§5)
            print(f"ncsweep: trial {self.key}: {note}", flush=True)
        self.ledger.update(self.key, resumed_from_epoch=self.trainer.epoch, checkpoint_note=note)
        self._write_config(config["config"])
        self.tracking = TrialTracking.start(trial, config, self.trainer.epoch)

    def _check_dependencies(self) -> None:
        """The checkpoints this trial loads are the ones its dependencies finished with."""
        for dep in self.trial.depends_on:
            why = self.ledger.verify_checkpoint(dep)
            if why:
                self.ledger.quarantine_checkpoint(dep, why)
                raise CheckpointError(f"dependency {dep}: {why}; `ncsweep resume` retrains it")

    def _write_config(self, cfg: dict[str, Any]) -> None:
        from ncsweep.train.common import write_config

        write_config(self.out, cfg)

    def step(self) -> dict[str, Any]:
        key, storage = self.trial.key, self.config_["storage"]
        if self.trainer is None and Ledger(storage).is_done(key):
            return {"done": True}  # finished by an earlier run: never train it twice
        try:
            if self.trainer is None:
                self._begin()
            metrics = self._train_some()
        except Exception as exc:
            if will_fail_again(exc):
                return self._fail_for_good(exc)
            Ledger(storage).safe_update(key, error=f"{type(exc).__name__}: {exc}")
            if getattr(self, "tracking", None) is not None:
                self.tracking.end("FAILED")
            traceback.print_exc()
            raise
        if self.trainer.done:
            self._finish()
        return {**metrics, "epoch": self.trainer.epoch, "done": self.trainer.done}

    def _fail_for_good(self, exc: Exception) -> dict[str, Any]:
        reason = f"{type(exc).__name__}: {exc}"
        Ledger(self.config_["storage"]).mark_failed(self.trial.key, reason)
        if getattr(self, "tracking", None) is not None:
            self.tracking.end("FAILED")
        self.trainer = None
        return {"done": True, FAILED_KEY: reason}

    def _train_some(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for _ in range(self.epochs_per_step):
            if self.trainer.done:
                break
            _maybe_fail(self.key, self.trainer.epoch, self.attempts)
            epoch_metrics = self.trainer.train_epoch()
            self.tracking.log_epoch(epoch_metrics, self.trainer.epoch)
            metrics = {k.replace("/", "_"): v for k, v in epoch_metrics.items() if _is_number(v)}
        return metrics

    def _finish(self) -> None:
        from ncsweep.train.common import METRICS, missing_metrics

        if not self.trainer.scored:  # trained, but killed inside the scoring window (§1)
            self.trainer.score()
        final = self.trainer.final_metrics()
        missing = missing_metrics(self.stage, final)
        if missing:  # never "done" with a promised metric absent or NaN
            raise IncompleteResults(f"trial {self.key} finished without {', '.join(missing)}")
        if not (self.out / METRICS).is_file():
            self.trainer.write_metrics()
        self.tracking.log_final(final, self.out, self.trainer)
        self.ledger.record_checkpoint(self.key)  # the hash a later stage checks (§5)
        self.ledger.mark_done(self.key)

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        # The run dir holds the real checkpoint; Tune keeps only a pointer to the epoch.
        if self.trainer is None:
            return {"key": self.trial.key, "epoch": None}
        if not self.trainer.done:
            self.trainer.save()
        return {"key": self.key, "epoch": self.trainer.epoch}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.trainer is None:
            self._begin()  # resumes from the run dir's checkpoint.pt, the newest there is

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self.cleanup()
        self.setup(new_config)
        return True

    def cleanup(self) -> None:
        trainer = getattr(self, "trainer", None)
        if trainer is not None:
            self.tracking.end("FINISHED" if trainer.done else "KILLED")
            self.trainer = None


def _quiet_actor_exit() -> None:
    """Ray ends an actor by raising SystemExit in it; landing inside a weakref callback, that
    printed "Exception ignored ... Traceback ... SystemExit" after a successful study (issue 14
    §5). Only that exit is silenced; every other unraisable error is still printed."""
    hook = sys.unraisablehook
    if getattr(hook, "ncsweep", False):
        return

    def quiet(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, SystemExit):
            hook(unraisable)

    quiet.ncsweep = True  # type: ignore[attr-defined]
    sys.unraisablehook = quiet


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def with_resources():
    """The trainable Tune runs: resources per trial from the trial's own config."""
    return tune.with_resources(StudyTrainable, trial_resources)


__all__ = ["StudyTrainable", "trial_resources", "with_resources", "InjectedFailure"]
