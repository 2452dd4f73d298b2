"""A tiny real study through Ray into a temporary SQLite store: one finished run per trial plus
the parent, tags and parent links, metrics per step, artifacts; re-running adds no runs; the
tables rebuild from that store. Skips until ``ncsweep.sweep`` has a runnable driver."""

from __future__ import annotations

import textwrap

import pytest

mlflow = pytest.importorskip("mlflow")
driver = pytest.importorskip("ncsweep.sweep.driver", reason="ncsweep.sweep has no driver yet")
if not hasattr(driver, "run_study") or not hasattr(driver, "RunOptions"):
    pytest.skip("ncsweep.sweep.driver lacks run_study / RunOptions", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.ray]

SPACE = textwrap.dedent(
    """
    study: tracked
    defaults:
      run: {device: cpu}
    evaluator:
      config: {epochs: 2}
      resources: {gpu: 0, cpu: 1}
    stage1:
      config:
        optim: {epochs: 2, batch_size: 32}
        ssl: {proj_hidden: 64, proj_out: 64, iternorm_groups: 8}
        run: {eval_every: 1, checkpoint_every: 1}
      resources: {gpu: 0, cpu: 1}
      epochs_per_step: 1
      grid:
        dataset: [SonyAIBORobotSurface1]
        seed: [0]
        variants:
          - {ssl: none}
          - {ssl: [barlowtwins], augmentation: [warp], zeta: [0.2]}
    stage2:
      config:
        optim: {epochs: 1, batch_size: 32}
        prior: {hidden: 32, n_layers: 1, head_dim: 16}
        sampling: {steps: 2, batch_size: 64}
        eval: {cas_min_samples: 50, cas_epochs: 2}
        run: {checkpoint_every: 1}
      resources: {gpu: 0, cpu: 1}
      epochs_per_step: 1
    """
)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    space = root / "space.yaml"
    space.write_text(SPACE)
    storage = root / "storage"
    opts = driver.RunOptions(address="local")  # never join another test's cluster
    driver.run_study(space, storage, opts)
    client = mlflow.MlflowClient(f"sqlite:///{storage / 'mlflow.db'}")
    exp = client.get_experiment_by_name("tracked")
    first = client.search_runs([exp.experiment_id])
    driver.run_study(space, storage, opts)  # everything done: must add no run
    return storage, client, exp, first


def test_one_finished_run_per_trial_plus_parent(study):
    storage, client, exp, runs = study
    parents = [r for r in runs if r.data.tags.get("ncsweep.role") == "parent"]
    children = [r for r in runs if r.data.tags.get("ncsweep.role") != "parent"]
    assert len(parents) == 1
    keys = {r.data.tags["ncsweep.trial_key"] for r in children}
    assert len(keys) == len(children)  # no duplicate per trial
    stages = sorted(r.data.tags["ncsweep.stage"] for r in children)
    assert stages.count("stage1") == 2 and stages.count("stage2") == 2
    for r in children:
        assert r.info.status == "FINISHED"
        if r.data.tags["ncsweep.stage"] not in ("stage1", "stage2"):
            continue
        assert r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert r.data.tags["ncsweep.dataset"] == "SonyAIBORobotSurface1"
        assert {"ncsweep.ssl", "ncsweep.seed", "ncsweep.node"} <= r.data.tags.keys()
    s2 = [r for r in children if r.data.tags["ncsweep.stage"] == "stage2"]
    s1_ids = {r.info.run_id for r in children if r.data.tags["ncsweep.stage"] == "stage1"}
    assert all(r.data.tags.get("ncsweep.stage1_run_id") in s1_ids for r in s2)


def test_metrics_per_step_and_artifacts(study):
    _, client, _, runs = study
    s1 = next(r for r in runs if r.data.tags.get("ncsweep.stage") == "stage1")
    steps = sorted(m.step for m in client.get_metric_history(s1.info.run_id, "val/recon"))
    assert steps[-2:] == [1, 2]
    assert "val_recon" in s1.data.metrics and "knn_acc" in s1.data.metrics
    assert "config.yaml" in {a.path for a in client.list_artifacts(s1.info.run_id)}
    figures = {a.path for a in client.list_artifacts(s1.info.run_id, "figures")}
    assert {"figures/reconstructions.png", "figures/latent_tsne.png"} <= figures
    s2 = next(r for r in runs if r.data.tags.get("ncsweep.stage") == "stage2")
    s2_figures = {a.path for a in client.list_artifacts(s2.info.run_id, "figures")}
    assert "figures/samples_vs_real.png" in s2_figures


def test_rerun_adds_no_runs(study):
    _, client, exp, first = study
    assert len(client.search_runs([exp.experiment_id])) == len(first)


def test_tables_from_the_study(study, tmp_path):
    from ncsweep.tables import make_report
    from ncsweep.tracking import resolve_store

    storage = study[0]
    report = make_report(*resolve_store(storage, None, None), tmp_path, figures=False, log=False)
    text = (tmp_path / "table_6_1_val_recon_mean.md").read_text()
    assert "SonyAIBORobotSurface1" in text and "Baseline" in text and "BT warp" in text
    assert "seeds finished" not in text  # the plan's single seed finished everywhere
    assert report.n_runs >= 4
