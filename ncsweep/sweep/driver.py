"""``ncsweep run``: one Tune run for a whole study, on a local or an existing Ray cluster."""

from __future__ import annotations

import copy
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ncsweep.stages import STAGES, Place
from ncsweep.study import TrialSpec, load_study, missing_datasets
from ncsweep.sweep.ledger import STUDY, Ledger
from ncsweep.sweep.preflight import StudyError, check_address, check_datasets, check_same_study

FORWARDED_ENV = ("NCSWEEP_TEST_FAIL",)  # test seams that must reach the trial processes


@dataclass(frozen=True)
class RunOptions:
    address: str | None = None
    num_cpus: int | None = None
    num_gpus: int | None = None
    max_concurrent: int | None = None
    tracking_uri: str | None = None  # None → sqlite in the storage dir; "" → no tracking
    max_failures: int = 2  # Tune retries per trial, each from the trial's last checkpoint
    # Off by default: a cached actor saves ~4 s of process start per trial, but while the
    # searcher waits on dependencies Tune keeps an idle cached actor and its GPU (seen in
    # tests/test_sweep_run.py: a node left idle for the rest of the study). Study trials run
    # for hours; turn it on for many short trials (tests, benchmarks/orchestrator.py).
    reuse_actors: bool = False
    data_root: str | None = None  # --data-root: replaces the space's defaults.data.root


def runtime_config(t: TrialSpec, ledger: Ledger) -> dict[str, Any]:
    """The trial's config with what depends on where the study lives filled in (the stage's
    runtime patches: the evaluator cache, stage 2's stage-1 run dir, the thread count)."""
    place = Place(ledger.storage / "evaluators", ledger.trial_dir)
    return STAGES[t.stage].runtime_config(copy.deepcopy(t.config), t, place)


def _config_maker(ledger: Ledger, tracking: dict[str, Any] | None):
    info = None if tracking is None else {k: v for k, v in tracking.items() if k != "tracker"}

    def config_for(t: TrialSpec) -> dict[str, Any]:
        # Tune's config: the typed trial itself (it pickles), its key for Tune's trial names,
        # and what only the driver knows (the runtime config, storage, the tracking run)
        return {
            "key": t.key,
            "trial": t,
            "config": runtime_config(t, ledger),
            "storage": str(ledger.storage),
            "tracking": info,
        }

    return config_for


def _init_ray(opts: RunOptions) -> bool:
    """Connect to ``address`` or start a local Ray; True when we started it."""
    import ray

    if ray.is_initialized():
        return False
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}} if env else {}
    if opts.address and opts.address != "local":  # "local" starts our own, as None does
        _join(opts.address, kwargs)
        return True
    # address="local": always a fresh cluster of our own; joining one that happens to run on this
    # machine is what --address auto is for (and num_cpus/num_gpus would be refused there).
    ray.init(
        address="local",
        num_cpus=opts.num_cpus,
        num_gpus=opts.num_gpus,
        include_dashboard=False,
        **kwargs,
    )
    return True


def _join(address: str, kwargs: dict[str, Any]) -> None:
    """``ray.init(address)`` within ``NCSWEEP_RAY_CONNECT_S`` seconds: something that accepts TCP
    but is no Ray head makes Ray retry forever inside C++ (an alarm never fires; issue 14 §8), so
    it connects from a daemon thread, and SIGTERM is then handled as Ray's main thread does."""
    import ray

    wait_s = float(os.environ.get("NCSWEEP_RAY_CONNECT_S", "45"))
    failure: list[BaseException] = []

    def connect() -> None:
        try:
            ray.init(address=address, **kwargs)
        except BaseException as exc:  # handed to the caller below
            failure.append(exc)

    thread = threading.Thread(target=connect, name="ncsweep-ray-join", daemon=True)
    thread.start()
    thread.join(wait_s)
    if thread.is_alive() or failure:
        why = f"no answer within {wait_s:.0f} s" if thread.is_alive() else str(failure[0])
        raise StudyError(
            f"cannot join the Ray cluster at {address} ({why}): check the address (`ray status` "
            "on the head node); nothing was written to the storage"
        )
    _exit_on_sigterm()


def _exit_on_sigterm() -> None:
    """What ``ray.init`` does in the main thread: SIGTERM exits through ``finally`` blocks (the
    heartbeat then says "stopped", not "lost")."""
    import signal

    is_main = threading.current_thread() is threading.main_thread()
    if is_main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))


def _tuner(searcher, ledger: Ledger, opts: RunOptions, stream: IO[str], scheduler=None):
    from ray import tune

    from ncsweep.sweep.progress import ProgressCallback, quiet_tune_output
    from ncsweep.sweep.trainables import with_resources

    quiet_tune_output()  # Tune's box and TensorBoard hint went to stdout (issue 14 §5)

    run_config = tune.RunConfig(
        name=f"tune-{time.strftime('%Y%m%d-%H%M%S')}",
        storage_path=str(ledger.storage / "ray"),
        failure_config=tune.FailureConfig(max_failures=opts.max_failures),
        checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
        callbacks=[ProgressCallback(searcher, stream)],
        verbose=0,
    )
    tune_config = tune.TuneConfig(
        search_alg=searcher,
        scheduler=scheduler,  # None: Tune's FIFO; an adaptive search: per-group ASHA
        num_samples=-1,
        reuse_actors=opts.reuse_actors,
        max_concurrent_trials=opts.max_concurrent,
        trial_name_creator=lambda trial: trial.config["key"],
        trial_dirname_creator=lambda trial: f"{trial.config['key']}-{trial.trial_id}",
    )
    return tune.Tuner(with_resources(), tune_config=tune_config, run_config=run_config)


def _pending_slots(opts: RunOptions) -> int:
    """Trials Tune may hold pending at once (it asks a custom searcher for only 1 by default).

    One per GPU and CPU: Tune counts a trial waiting for its retry as pending too, so a smaller
    queue lets failing trials starve ready ones; the searcher hands out ready stage-2 trials
    before stage-1 trials, so they still start while other stage-1 trials run.
    """
    import ray

    res = ray.cluster_resources()
    return opts.max_concurrent or max(1, int(res.get("GPU", 0) + res.get("CPU", 1)))


def run_study(
    space_path: str | Path,
    storage: str | Path,
    opts: RunOptions | None = None,
    stream: IO[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Run (or finish) the study; returns per-stage counts. Finished trials never run again."""
    opts, stream = opts or RunOptions(), stream or sys.stderr
    check_address(opts.address)  # before anything is written: an unreachable cluster (§8)
    space, trials = load_study(space_path, opts.data_root)
    missing = missing_datasets(space, trials)
    if missing:
        lines = [f"  {m['dataset']} (looked in {', '.join(m['looked_in'])})" for m in missing]
        raise StudyError("datasets missing from the data root, not starting:\n" + "\n".join(lines))
    check_datasets(space, trials, stream)  # a bad file fails here once, not in every trial
    ledger = Ledger(storage)
    check_same_study(ledger, space, trials, stream)  # another study's storage: refused (§1)
    wait_for_other_driver(ledger.storage, stream)  # two live drivers would run trials twice
    # --address: join before writing anything, so a cluster that does not answer leaves the
    # storage as it was (issue 14 §8)
    started = _init_ray(opts) if opts.address else False
    try:
        from ncsweep.sweep.adaptive import all_done, make_search, searched_trials

        trials = searched_trials(space, trials, ledger)  # an adaptive search: those made so far
        ledger.save_study(space_path, [t.to_dict() for t in trials])
        probe, _ = make_search(space, trials, ledger, lambda t: {})
        if all_done(probe):
            print(f"study {space.name}: all {len(trials)} trials already done", file=stream)
            _track_leftovers(space, trials, ledger, opts, stream)
            return probe.counts()
        from ncsweep.sweep.heartbeat import Heartbeat

        started = _init_ray(opts) or started
        with Heartbeat(ledger.storage):  # lets `ncsweep status` tell a live driver from a dead one
            return _fit(space, trials, ledger, opts, stream)
    finally:
        if started:
            import ray

            ray.shutdown()


def wait_for_other_driver(storage: Path, stream: IO[str], wait_s: float | None = None) -> None:
    """Refuse to start while another driver of this study is alive; wait up to ``wait_s``
    (default: until a silent driver counts as lost) for one that may have just died, e.g. a
    SLURM job requeued onto another node within the minute."""
    from ncsweep.sweep.heartbeat import INTERVAL_S, STALE_S, alive_here, driver_status, live

    other = driver_status(storage)
    if not live(other):
        return
    wait_s = STALE_S + INTERVAL_S if wait_s is None else wait_s
    who = f"pid {other.get('pid')} on {other.get('host')}"
    if alive_here(other):  # its process is visibly alive on this host: no point waiting (§6)
        wait_s = 0.0
    if wait_s > 0:
        print(f"another driver ({who}) looks alive; waiting up to {wait_s:.0f} s", file=stream)
    deadline = time.time() + wait_s
    while time.time() < deadline:
        time.sleep(min(5.0, wait_s / 10, max(0.05, deadline - time.time())))
        other = driver_status(storage)
        if not live(other):
            return
    raise StudyError(
        f"another driver is running this study ({who}, last heartbeat "
        f"{other['beat_age_s']:.0f} s ago, {storage / 'driver.json'}): running a second one "
        "would run trials twice. Watch it with `ncsweep status`, or stop it first."
    )


def _fit(space, trials: list[TrialSpec], ledger: Ledger, opts: RunOptions, stream):
    from ncsweep.sweep.adaptive import make_search
    from ncsweep.sweep.tracking_hook import start_study_tracking

    uri = _tracking_uri(opts, ledger)
    tracking = start_study_tracking(uri or None, space.name, ledger.storage, space.raw, trials)
    if tracking and not tracking.get("reachable", True):
        print(f"MLflow store {uri} does not answer: the study runs untracked, "
              f"`ncsweep sync {ledger.storage}` tracks it later", file=stream)
    searcher, scheduler = make_search(space, trials, ledger, _config_maker(ledger, tracking))
    os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", str(_pending_slots(opts)))
    _tuner(searcher, ledger, opts, stream, scheduler).fit()
    searcher.reconcile()
    counts = searcher.counts()
    if tracking and tracking.get("tracker") and tracking.get("reachable", True):
        tracking["tracker"].end("FINISHED")  # (an unreachable store: nothing to close)
    from ncsweep.sweep.progress import format_counts

    print(f"study {space.name} finished: {format_counts(counts)}", file=stream)
    _name_untracked(ledger, trials, tracking, uri, stream)
    return counts


def _tracking_uri(opts: RunOptions, ledger: Ledger) -> str:
    """--tracking-uri, else the study's own SQLite store ("" = untracked)."""
    if opts.tracking_uri is None:
        return f"sqlite:///{ledger.storage / 'mlflow.db'}"
    return opts.tracking_uri


def _track_leftovers(space, trials, ledger: Ledger, opts: RunOptions, stream) -> None:
    """A relaunch that finds every trial done still completes the runs the store lacks (a kill
    between the last trial's end and its run's close, an outage that has ended), or names them."""
    from ncsweep.sweep.tracking_hook import start_study_tracking, untracked_trials

    uri = _tracking_uri(opts, ledger)
    if not uri or not untracked_trials(ledger, [t.key for t in trials]):
        return
    tracking = start_study_tracking(uri, space.name, ledger.storage, space.raw, trials)
    if tracking and tracking.get("tracker") and tracking.get("reachable", True):
        tracking["tracker"].end("FINISHED")
    _name_untracked(ledger, trials, tracking, uri, stream)


def _name_untracked(ledger: Ledger, trials, tracking, uri: str, stream) -> None:
    """Finished trials the store lacks (an outage, a corrupt store): named, with the command
    that tracks them (issue 13 §3)."""
    from ncsweep.sweep.tracking_hook import complete_untracked, untracked_trials

    if not tracking:
        return
    complete_untracked(ledger, untracked_trials(ledger, [t.key for t in trials]), tracking)
    keys = untracked_trials(ledger, [t.key for t in trials])
    if not keys:
        return
    flag = "" if uri == _tracking_uri(RunOptions(), ledger) else f" --tracking-uri {uri}"
    shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
    print(
        f"{len(keys)} finished trial(s) are not (fully) in the MLflow store {uri}: {shown}. "
        f"Their results are safe in {ledger.storage}; `ncsweep sync {ledger.storage}{flag}` "
        "tracks them.",
        file=stream,
    )


def resume_study(storage: str | Path, opts: RunOptions | None = None, stream=None):
    """Finish the study stored in ``storage`` (reads ``<storage>/study.yaml``)."""
    path = Path(storage) / STUDY
    if not path.is_file():
        raise StudyError(f"{storage} holds no study ({STUDY} missing)")
    return run_study(path, storage, opts, stream)
