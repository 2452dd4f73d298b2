"""One parametrised test over the stage registry (timm's tests/test_models.py idea): every entry of
``ncsweep.stages.STAGES`` expands, keys, types, patches and resumes the same way."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from ncsweep.stages import STAGES, Place
from ncsweep.study import Trial, expand, parse_space
from ncsweep.study.expand import config_hash

SPACE = {
    "study": "registry",
    "evaluator": {"config": {"epochs": 2}},
    "stage1": {
        "config": {"optim": {"epochs": 3}},
        "grid": {"dataset": ["SonyAIBORobotSurface1"], "seed": [0], "variants": [{"ssl": "none"}]},
    },
    "stage2": {"config": {"optim": {"epochs": 4}}},
}


@pytest.fixture(scope="module")
def trials() -> dict[str, Trial]:
    return {t.stage: t for t in expand(parse_space(SPACE))}


def test_the_registry_is_in_dependency_order():
    seen: set[str] = set()
    for name, stage in STAGES.items():
        assert stage.name == name
        assert set(stage.depends_on) <= seen  # a stage comes after what it waits for
        seen.add(name)
    assert sum(s.grid for s in STAGES.values()) == 1


@pytest.mark.parametrize("name", list(STAGES))
def test_every_stage(name: str, trials: dict[str, Trial], tmp_path: Path):
    stage, trial = STAGES[name], trials[name]
    # its trials carry its prefix, its epochs field and one dependency per dependency stage
    assert trial.key.startswith(f"{stage.key_prefix}-")
    assert trial.epochs == {"evaluator": 2, "stage1": 3, "stage2": 4}[name]
    assert [trials[d].key for d in stage.depends_on] == list(trial.depends_on)
    # the runtime patches fill in where the study lives, and the result types as the stage's config
    place = Place(tmp_path / "evaluators", lambda key: tmp_path / "trials" / key)
    runtime = stage.runtime_config(copy.deepcopy(trial.config), trial, place)
    typed = stage.typed_config(runtime, "test")
    assert stage.config_class.__name__ in repr(typed)
    # where-not-what keys change neither the key nor block a resume (one list for both)
    from ncsweep.train.common import config_mismatch

    moved = copy.deepcopy(runtime)
    for section, key in stage.where_not_what:
        if isinstance(moved.get(section), dict) and key in moved[section]:
            moved[section][key] = "/somewhere/else"
    assert config_hash(moved, stage=stage) == config_hash(trial.config, stage=stage)
    assert config_mismatch(runtime, moved) == []
    # the trainer is found by its dotted name and speaks the Trainer protocol
    cls = stage.trainer_class()
    for attr in ("done", "train_epoch", "save", "load", "final_metrics"):
        assert hasattr(cls, attr), f"{cls.__name__} lacks {attr}"
    # the trial crosses the Ray boundary as itself
    assert pickle.loads(pickle.dumps(trial)) == trial


def test_an_unknown_stage_names_the_known_ones():
    from ncsweep.stages import stage

    with pytest.raises(KeyError, match="evaluator, stage1, stage2"):
        stage("stage3")


def test_a_stage_revision_changes_its_keys_and_only_its_keys():
    """Stage 1's revision (the thesis' decoder) keeps old trials from passing for new ones."""
    import dataclasses
    import hashlib
    import json

    from ncsweep.study.expand import _canonical

    cfg = {"optim": {"epochs": 3}, "data": {"dataset": "ECG200"}}
    s1 = STAGES["stage1"]
    assert s1.revision  # bumped by the decoder change of issue 11 §1
    old = dataclasses.replace(s1, revision="")
    assert config_hash(cfg, stage=s1) != config_hash(cfg, stage=old)
    # without a revision the key is the hash it always was (the evaluator's keys did not move)
    blob = json.dumps([_canonical(cfg, old), []], sort_keys=True, separators=(",", ":"))
    assert config_hash(cfg, stage=old) == hashlib.sha256(blob.encode()).hexdigest()[:8]
    assert not STAGES["evaluator"].revision
