"""A tiny DDPM trains with KID + IS validation on EMA samples (the shared Inception pass, a
respaced chain for KID), then `genforge sample` draws grids with the full and a respaced chain.
FID (same sampling path, plus a 2048x2048 sqrtm that takes a minute here) is marked slow."""
from __future__ import annotations

import json
import math
import pprint

import numpy as np
import pytest
import torch
from PIL import Image

from genforge.cli import CLIError, main
from genforge.evaluation.inception import InceptionV3FID


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Small convs run far faster on one thread than on two busy shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

T = 6


def ddpm_cfg(work_dir: str, inception: str, dist_metric: str = 'KernelInceptionDistance') -> dict:
    loader = dict(batch_size=4, num_workers=0,
                  dataset=dict(type='DigitsDataset', img_size=8, indices=4))
    metric_args = dict(inception_style='PyTorch', inception_path=inception, sample_model='ema')
    return dict(
        work_dir=work_dir,
        model=dict(
            type='BasicGaussianDiffusion', num_timesteps=T, betas_cfg=dict(type='cosine'),
            data_preprocessor=dict(type='DataPreprocessor'),
            denoising=dict(type='DenoisingUnet', image_size=8, in_channels=1, base_channels=32,
                           channels_cfg=[1, 2], resblocks_per_downsample=1, attention_res=[4]),
            ddpm_loss=[dict(type='DDPMVLBLoss'), dict(type='DDPMMSELoss')],
            ema_config=dict(momentum=0.1)),
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler', shuffle=True)),
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(constructor='GenOptimWrapperConstructor',
                           denoising=dict(optimizer=dict(type='AdamW', lr=1e-4))),
        train_cfg=dict(by_epoch=False, max_iters=2, val_interval=2),
        val_cfg=dict(type='GenValLoop'),
        val_evaluator=dict(type='GenEvaluator', metrics=[
            dict(type=dist_metric, prefix='DIST', fake_nums=2, real_nums=4,
                 sample_kwargs=dict(timestep_respacing=3), **metric_args),
            dict(type='InceptionScore', prefix='IS', fake_nums=2, splits=1, **metric_args)]),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        randomness=dict(seed=0))


def _train(root, dist_metric: str = 'KernelInceptionDistance'):
    inception = root / 'random_inception.pth'
    torch.manual_seed(0)
    torch.save(InceptionV3FID().state_dict(), inception)  # test-only weights
    cfg_path = root / 'ddpm_cfg.py'
    cfg = ddpm_cfg(str(root / 'work'), str(inception), dist_metric)
    cfg_path.write_text('\n'.join(f'{k} = {pprint.pformat(v)}' for k, v in cfg.items()))
    assert main(['train', str(cfg_path)]) == 0
    records = [json.loads(line) for p in (root / 'work').glob('*/vis_data/scalars.json')
               for line in p.read_text().splitlines()]
    return cfg_path, [r for r in records if 'IS/is' in r]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('ddpm')
    cfg_path, val = _train(root)
    return root, cfg_path, val


def test_kid_and_is_on_ema_samples(trained):
    _, _, val = trained
    assert val and math.isfinite(val[-1]['DIST/kid']) and val[-1]['IS/is'] >= 1.0


@pytest.mark.slow
def test_fid_on_ema_samples(tmp_path):
    _, val = _train(tmp_path, 'FrechetInceptionDistance')
    assert val and math.isfinite(val[-1]['DIST/fid'])


@pytest.mark.parametrize('steps', [None, '3', 'ddim2'])
def test_sample_cli_full_and_respaced_chain(trained, steps, capsys):
    root, cfg, _ = trained
    out = root / f'grid_{steps}.png'
    extra = [] if steps is None else ['--steps', steps]
    assert main(['sample', str(cfg), str(root / 'work' / 'iter_2.pth'), '--num', '4',
                 '--batch-size', '2', '--out', str(out), *extra]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape[0] >= 16 and grid.shape[1] >= 16
    assert 'sample_model=ema' in capsys.readouterr().out


def test_sample_cli_bad_steps(trained):
    root, cfg, _ = trained
    with pytest.raises(CLIError, match=r'--steps 50: give a number of steps in 2..6'):
        from genforge.cli.sample import build_model_from_checkpoint, check_steps
        check_steps(build_model_from_checkpoint(str(cfg), str(root / 'work' / 'iter_2.pth')),
                    '50')
