"""cluster/slurm/selftest.sh on this host (issue 16): a real single-host SLURM (slurm-wlm + munge,
proctrack/linuxproc) and PostgreSQL, the MLflow server job and the quickstart study through
submit.sh, cancelled and resubmitted, requeued once; it must end with every trial done once, the
runs FINISHED on PostgreSQL and `ncsweep tables --tracking-uri` reading them through the server.
Several minutes: marked slow. Skips only when the selftest cannot install or run the Debian
packages (exit 77, the reason printed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

SELFTEST = Path(__file__).resolve().parents[1] / "cluster" / "slurm" / "selftest.sh"


@pytest.mark.slow
def test_slurm_selftest_runs_the_study_through_slurm():
    res = subprocess.run(["bash", str(SELFTEST)], capture_output=True, text=True, timeout=2400)
    out = res.stdout + res.stderr
    if res.returncode == 77:
        reason = re.findall(r"SKIP: (.*)", out)
        pytest.skip(f"selftest.sh: {reason[-1] if reason else out[-500:]}")
    assert res.returncode == 0, out[-6000:]
    (summary,) = [line for line in res.stdout.splitlines() if line.startswith("selftest: PASS")]
    print(summary)  # shown with -rP / -s: the run's numbers and wall time
    done, total = map(int, re.search(r"(\d+)/(\d+) trials done", summary).groups())
    assert done == total == 14  # search_spaces/quickstart.yaml: 6 stage-1, 6 stage-2, 2 evaluators
    assert re.search(r"\b15 FINISHED runs on PostgreSQL", summary)  # 14 trials + the parent run
    assert "1 requeue" in summary and "no Ray left behind" in summary
