"""The linear-SVM probe always returns (issue 11 §4, found by benchmarks/reproduce.py): libsvm,
unbounded by default, never finished one of its one-vs-one pairs on the pooled features of a
Barlow Twins run on Mallat at epoch 100 (55 training series, 8 classes; the features here are
that run's, saved from benchmarks/reproduce.py --datasets Mallat --epochs 400, seed 0). The
other 27 pairs converge within 77 iterations; with ProbeConfig.svm_max_iter the fit takes a
fraction of a second."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "svm_hang_mallat_bt_e100.npz"


def test_the_probe_returns_on_features_that_hang_libsvm():
    code = f"""
import warnings, numpy as np
from ncsweep.metrics import probe_accuracy
d = np.load({str(DATA)!r})
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    out = probe_accuracy(d["f_train"], d["y_train"], d["f_train"], d["y_train"])
print(out["svm_acc"], any("max_iter" in str(x.message) for x in w))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    acc, bounded = run.stdout.split()
    assert 0.5 < float(acc) <= 1.0 and bounded == "True"  # it hit the bound, and says so


def test_the_bound_leaves_a_fit_that_converges_unchanged():
    from sklearn.svm import SVC

    from ncsweep.config.stage1 import ProbeConfig
    from ncsweep.metrics import probe_accuracy

    rng = np.random.default_rng(0)
    f = rng.normal(size=(60, 16)) + np.repeat(np.eye(3, 16) * 3, 20, axis=0)
    y = np.repeat(np.arange(3), 20)
    got = probe_accuracy(f, y, f, y)["svm_acc"]
    from sklearn.preprocessing import MinMaxScaler

    a = MinMaxScaler(feature_range=(-1, 1)).fit_transform(f)
    unbounded = SVC(kernel="linear", C=1.0).fit(a, y)
    assert got == float((unbounded.predict(a) == y).mean())
    assert ProbeConfig().svm_max_iter >= 10**5
