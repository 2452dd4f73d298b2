"""``ncsweep sample``: draw series from a trained stage-2 prior; writes .npy and a PNG."""

from __future__ import annotations

from pathlib import Path

import click

from ncsweep.cli.common import check_device, user_errors


@click.command("sample")
@click.option(
    "--stage2",
    "stage2_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Stage-2 run directory (or its checkpoint.pt).",
)
@click.option("--n", "n", required=True, type=click.IntRange(min=1), help="Number of series.")
@click.option(
    "--class", "class_id", type=int, help="Class id 0..K-1 (omit for unconditional samples)."
)
@click.option(
    "--guidance", type=float, help="Classifier-free guidance scale s (default: the run's config)."
)
@click.option(
    "--steps", type=click.IntRange(min=1), help="Decoding steps T (default: the run's config)."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed → same samples.")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N.")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Output .npy file; the PNG gets the same stem.",
)
def sample(
    stage2_dir: Path,
    n: int,
    class_id: int | None,
    guidance: float | None,
    steps: int | None,
    seed: int,
    device: str,
    out: Path,
) -> None:
    """Sample N series in the ORIGINAL data scale (x·std + mean) and plot them next to real
    series of the same class (per class when unconditional).

    \b
    Example:
      ncsweep sample --stage2 runs/s2 --n 16 --class 1 --out runs/s2/samples.npy
    """
    with user_errors():
        import dataclasses

        import numpy as np
        import torch

        from ncsweep.train.common import resolve_device
        from ncsweep.train.sampling import generate
        from ncsweep.train.stage2 import load_stage2_model

        check_device(device)
        dev = resolve_device(device)
        prior, stage1, cfg, meta = load_stage2_model(stage2_dir, dev)
        if class_id is not None and not 0 <= class_id < meta["n_classes"]:
            raise click.BadParameter(
                f"{class_id} is out of range: {meta['dataset']} has classes 0..{meta['n_classes'] - 1}",
                param_hint="--class",
            )
        changes = {k: v for k, v in {"guidance": guidance, "steps": steps}.items() if v is not None}
        cfg = dataclasses.replace(cfg, sampling=dataclasses.replace(cfg.sampling, **changes))
        labels = None if class_id is None else torch.full((n,), class_id, dtype=torch.long)
        gen = torch.Generator().manual_seed(seed)
        x = generate(prior, stage1, n, labels, cfg, gen).numpy() * meta["std"] + meta["mean"]
        out = out if out.suffix == ".npy" else out.with_suffix(".npy")
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, x.astype(np.float32))
        png = _plot(x, class_id, meta, out.with_suffix(".png"))
    click.echo(f"wrote {out} {x.shape} and {png}", err=True)


def _plot(x, class_id: int | None, meta: dict, path: Path) -> Path:
    _figure(x, class_id, meta).savefig(path, dpi=100)
    return path


def _figure(x, class_id: int | None, meta: dict):
    """Generated series (left) next to real train series of the same class (right), every panel
    on one y scale with labelled axes, so amplitudes compare at a glance (issue 14 §6)."""
    from ncsweep.data import load_ucr
    from ncsweep.viz.style import new_figure

    ds = load_ucr(meta["dataset"], meta.get("data_root"))
    real = ds.x_train * ds.std + ds.mean  # original scale, like the samples
    classes = [class_id] if class_id is not None else list(range(ds.n_classes))
    fig = new_figure(10, 2.2 * len(classes) + 0.8)
    axes = fig.subplots(len(classes), 2, squeeze=False, sharex=True, sharey=True)
    for i, (row, c) in enumerate(zip(axes, classes, strict=True)):
        shown = x if class_id is not None else x[i :: len(classes)]  # unconditional: split evenly
        row[0].plot(shown[:16].T, lw=0.8, alpha=0.7)
        row[0].set_title(
            f"generated, class {c}" if class_id is not None else "generated (unconditional)",
            fontsize=9,
        )
        row[1].plot(real[ds.y_train == c][:16].T, lw=0.8, alpha=0.7)
        row[1].set_title(f"real, class {c} (label {ds.labels[c]})", fontsize=9)
        row[0].set_ylabel("value (original scale)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time step", fontsize=8)
    fig.suptitle(f"{meta['dataset']}: {len(x)} samples")
    return fig
