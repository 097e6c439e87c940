"""Each shipped StyleGAN1/2/3 config builds a model whose whole state_dict (networks, EMA, ADA
buffers, mean_path_length, the progressive schedule's buffers) has MMagic 1.2's keys, order and
shapes for the same config."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.config import Config
from genforge.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / 'tests' / 'data' / 'state_dicts' / 'mmagic'
FAMILIES = ('styleganv1', 'styleganv2', 'styleganv3')
CONFIGS = sorted(p for d in FAMILIES for p in (ROOT / 'configs' / d).glob('*.py'))


def test_every_reference_layout_has_a_config():
    refs = {f'{p.parent.name}/{p.stem}' for d in FAMILIES
            for p in (REF / d).glob('*.json')}
    assert refs == {f'{p.parent.name}/{p.stem}' for p in CONFIGS}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_model_layout_matches_mmagic(path):
    ref = json.loads((REF / path.parent.name / f'{path.stem}.json').read_text())['keys']
    cfg = Config.fromfile(str(path))
    with torch.device('meta'):
        model = MODELS.build(dict(cfg.model), key_path='model')
    mine = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert list(mine) == list(ref)
    assert mine == ref
