"""`genforge demo`: the --model choice, the shipped GAN config, a cheap final evaluation."""
from __future__ import annotations

import re

import pytest
import torch

from genforge.cli import main
from genforge.cli.demo import demo_config
from genforge.config import Config
from genforge.registry import MODELS


def _printed_config(capsys, *flags: str) -> str:
    assert main(['demo', *flags, '--print-config']) == 0
    return capsys.readouterr().out


def test_model_choice_gan_default_dcgan_alias_and_ddpm(capsys):
    default = _printed_config(capsys)
    assert "type='SNGAN'" in default and "type='ProjDiscriminator'" in default
    assert "type='DigitScore'" in default
    assert _printed_config(capsys, '--model', 'gan') == default
    assert _printed_config(capsys, '--model', 'dcgan') == default  # the old name still works
    assert "type='BasicGaussianDiffusion'" in _printed_config(capsys, '--model', 'ddpm')
    with pytest.raises(SystemExit) as exc:
        main(['demo', '--model', 'vae', '--print-config'])
    assert exc.value.code == 2
    assert "invalid choice: 'vae'" in capsys.readouterr().err


def test_help_states_a_measured_time(capsys):
    with pytest.raises(SystemExit):
        main(['demo', '--help'])
    out = capsys.readouterr().out
    assert '~3 minutes' not in out and 'TIME_' not in out
    assert 'Measured time (benchmarks/demo_quality.py' in out
    for model in ('gan ', 'ddpm'):  # a measured range per model, with its quality
        assert re.search(rf'{model}: [0-9.]+-[0-9.]+ min, digit score [0-9.]+-[0-9.]+x', out)


def test_gan_demo_is_class_conditional_and_its_evaluation_cheap():
    cfg = Config(demo_config('unused', iters=10, vis_interval=5))
    metrics = {m['type']: m for m in cfg.val_evaluator.metrics}
    assert metrics['SWD']['fake_nums'] <= 256 and metrics['DigitScore']['fake_nums'] == 500
    model = MODELS.build(cfg.model)
    assert model.num_classes == 10 and model.with_ema_gen
    # the generator draws each sample's digit uniformly when no label is given
    torch.manual_seed(0)
    with torch.no_grad():
        fake, labels = model.generate(2000)
    assert fake.shape == (2000, 1, 16, 16)
    counts = torch.bincount(labels, minlength=10)
    assert counts.min() > 150 and counts.max() < 250
    # and the label changes the image (class-conditional batch norm)
    noise = torch.randn(4, model.noise_size)
    model.eval()
    with torch.no_grad():
        a = model.generator(noise, label=torch.zeros(4, dtype=torch.long))
        b = model.generator(noise, label=torch.ones(4, dtype=torch.long))
    assert not torch.allclose(a, b)


def test_one_thread_only_when_the_cores_are_busy(monkeypatch):
    import os

    from genforge.cli import demo
    from genforge.runner import build
    monkeypatch.setattr(build, 'usable_cpus', lambda: 2)
    monkeypatch.setattr(os, 'getloadavg', lambda: (4.5, 4.0, 3.0))
    assert demo.cores_are_busy()
    monkeypatch.setattr(os, 'getloadavg', lambda: (0.3, 0.2, 0.1))
    assert not demo.cores_are_busy()
