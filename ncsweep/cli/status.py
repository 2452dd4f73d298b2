"""``ncsweep status``: every trial of a study from its storage directory (no Ray, no torch).

Per trial: state, key, epoch/total (from its ``history.jsonl``), node, start and end time, and
for a running trial the ETA from its pace since it (re)started (issue 14 §5; README promises it).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from ncsweep.cli.common import user_errors


def epochs_done(trial_dir: Path) -> int:
    """The last epoch in ``history.jsonl`` (0 when none): one line per finished epoch."""
    try:
        lines = (trial_dir / "history.jsonl").read_text().splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line).get("epoch", 0))
        except (ValueError, AttributeError):
            continue
    return 0


def eta_s(
    epoch: int, total: int, resumed_from: int, start: float | None, now: float
) -> float | None:
    """Seconds left at the pace of this attempt (epochs since it resumed, over its wall time)."""
    done_now = epoch - resumed_from
    if not start or done_now <= 0 or now <= start:
        return None
    return (total - epoch) * (now - start) / done_now


def _clock(t: float | None) -> str:
    return time.strftime("%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _span(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def progress(storage: str, trials: list[dict[str, Any]], now: float) -> None:
    """Adds ``epoch``, ``epochs``, ``host`` and ``eta_s`` to each trial (in place)."""
    from ncsweep.sweep.ledger import Ledger

    ledger = Ledger(storage)
    totals = {d["key"]: _total(d) for d in ledger.plan()}
    for t in trials:
        state = ledger.read(t["key"])
        t["epoch"], t["epochs"] = epochs_done(ledger.trial_dir(t["key"])), totals.get(t["key"])
        if t["state"] == "done" and not t["epoch"]:  # the evaluator keeps no history: its cache
            t["epoch"] = t["epochs"] or 0  # entry is the whole trained FCN (not "0/20")
        t["host"] = state.get("host")
        running = t["state"] == "running" and t["epochs"]
        resumed = int(state.get("resumed_from_epoch") or 0)
        t["eta_s"] = eta_s(t["epoch"], t["epochs"], resumed, t["start"], now) if running else None


def _total(plan_entry: dict[str, Any]) -> int | None:
    from ncsweep.study.expand import Trial

    try:
        return Trial.from_dict(plan_entry).epochs
    except (KeyError, TypeError, ValueError):  # a plan written by another version
        return None


def trial_line(t: dict[str, Any]) -> str:
    parts = [f"  {t['state']:<11} {t['key']}", f"{t['epoch']}/{t['epochs'] or '?'}"]
    if t.get("node") or t.get("host"):
        node = str(t.get("node") or "")[:8]
        parts.append(f"node {t.get('host') or ''}{'/' if t.get('host') and node else ''}{node}")
    if t.get("start"):
        parts.append(f"start {_clock(t['start'])}")
    if t.get("end"):
        parts.append(f"end {_clock(t['end'])}")
    if t.get("eta_s") is not None:
        eta = t["start"] and time.time() + t["eta_s"]
        parts.append(f"ETA {_clock(eta)} (in {_span(t['eta_s'])})")
    if t["error"] and t["state"] in ("failed", "skipped"):
        parts.append(f"({t['error']})")
    if t["state"] == "done" and t.get("tracked") is False:  # issue 13 §3
        parts.append("[untracked: `ncsweep sync` tracks it]")
    return "  ".join(parts)


@click.command()
@click.argument("storage", type=click.Path(file_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print every trial as JSON on stdout.")
def status(storage: str, as_json: bool) -> None:
    """Show the state of every trial of the study in STORAGE, and whether its driver is alive:
    per trial its epoch/total, node, start and end time, and the ETA of a running trial.

    A trial is "interrupted" when the ledger says running but the driver that ran it has
    stopped or not been heard from for a minute (killed, node lost): `ncsweep resume STORAGE`
    continues it from its last checkpoint.
    """
    from ncsweep.sweep.heartbeat import driver_status, live
    from ncsweep.sweep.ledger import STATES, Ledger

    with user_errors():
        trials = Ledger(storage).trials()
        progress(storage, trials, time.time())
    driver = driver_status(storage)
    if not live(driver):
        for t in trials:
            if t["state"] == "running":
                t["state"], t["eta_s"] = "interrupted", None
    counts: dict[str, Counter] = {}
    for t in trials:
        counts.setdefault(t["stage"], Counter())[t["state"]] += 1
    if as_json:
        out = {
            "storage": str(Path(storage).absolute()),
            "driver": driver,
            "counts": counts,
            "trials": trials,
        }
        click.echo(json.dumps(out, indent=2, default=dict))
        return
    click.echo(_driver_line(driver, storage))
    stale = sum(t["state"] == "interrupted" for t in trials)
    if stale:  # issue 13 §6: MLflow cannot know the driver died
        click.echo(
            f"  {stale} interrupted trial(s): their MLflow runs still say RUNNING (stale); "
            f"`ncsweep resume {storage}` (or `ncsweep sync {storage}`) marks them"
        )
    shown = (*STATES[:2], "interrupted", *STATES[2:])  # every ledger state, even at 0
    for stage, c in counts.items():
        click.echo(f"{stage:<9} " + "  ".join(f"{s} {c[s]}" for s in shown if c[s] or s in STATES))
    for t in trials:
        click.echo(trial_line(t))


def _driver_line(driver: dict, storage: str) -> str:
    state = driver["state"]
    if state == "none":
        return "driver: never started on this storage (`ncsweep run SPACE --storage DIR`)"
    where = f"pid {driver.get('pid')} on {driver.get('host')}"
    if state == "running":
        return f"driver: running ({where}, last beat {driver['beat_age_s']:.0f} s ago)"
    if state == "lost":
        return (
            f"driver: LOST ({where}, silent for {driver['beat_age_s']:.0f} s): "
            f"`ncsweep resume {storage}` continues the study"
        )
    return f"driver: {state} ({where})"
