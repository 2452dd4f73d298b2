"""The ``ncsweep sample`` PNG (issue 14 §6): generated and real series on one y scale, axes
labelled, one row per class (unconditional) or one row for the requested class."""

from __future__ import annotations

import numpy as np
import pytest

from ncsweep.cli.sample import _figure, _plot
from ncsweep.data import load_ucr

DATASET = "SonyAIBORobotSurface1"  # bundled


@pytest.mark.parametrize("class_id", [None, 1])
def test_generated_and_real_share_one_labelled_scale(class_id, tmp_path):
    ds = load_ucr(DATASET)
    meta = {"dataset": DATASET, "n_classes": ds.n_classes}
    small = 0.05 * np.random.default_rng(0).normal(size=(8, ds.length))  # a 20x smaller amplitude
    fig = _figure(small, class_id, meta)
    axes = fig.axes
    assert len(axes) == 2 * (1 if class_id is not None else ds.n_classes)
    assert len({ax.get_ylim() for ax in axes}) == 1  # one y scale: amplitudes compare by eye
    real_top = max(abs(np.asarray(line.get_ydata())).max() for line in axes[1].lines)
    lo, hi = axes[0].get_ylim()
    assert hi >= real_top  # the generated panel's range holds the real series, not only its own
    assert all(ax.get_ylabel() for ax in axes[0::2])
    assert all(ax.get_xlabel() == "time step" for ax in axes[-2:])
    png = _plot(small, class_id, meta, tmp_path / "s.png")
    assert png.stat().st_size > 1000
