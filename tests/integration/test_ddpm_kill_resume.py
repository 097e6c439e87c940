"""SIGKILL while training a tiny Improved DDPM, `genforge train --resume`, and the run ends
bit-identical to an uninterrupted one (weights incl. the EMA denoiser, AdamW state, RNG, every
logged loss and quartile). Same procedure as test_kill_resume.py, which holds the helpers."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_kill_resume import DATA_MODULE, _assert_same, _pointer_iter, _scalars, _stderr, _train  # noqa: E402

MAX_ITERS, INTERVAL, T = 30, 5, 10

CONFIG = f'''
custom_imports = dict(imports=['killresume_data'])
model = dict(
    type='BasicGaussianDiffusion', num_timesteps={T}, betas_cfg=dict(type='cosine'),
    data_preprocessor=dict(type='DataPreprocessor'),
    denoising=dict(type='DenoisingUnet', image_size=8, in_channels=1, base_channels=32,
                   channels_cfg=[1, 2], resblocks_per_downsample=1, attention_res=[4],
                   dropout=0.1, use_rescale_timesteps=True),
    ddpm_loss=[dict(type='DDPMVLBLoss', rescale_mode='constant', rescale_cfg=dict(scale=0.01),
                    log_cfgs=[dict(type='quartile', prefix_name='loss_vlb',
                                   total_timesteps={T}), dict(type='name')]),
               dict(type='DDPMMSELoss', log_cfgs=dict(type='quartile', prefix_name='loss_mse',
                                                      total_timesteps={T}))],
    ema_config=dict(momentum=0.3))
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='KillResumeImages', size=8))
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     denoising=dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0)))
train_cfg = dict(by_epoch=False, max_iters={MAX_ITERS})
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval={INTERVAL}, by_epoch=False,
                                     max_keep_ckpts=3))
custom_hooks = [dict(type='KillResumeSlowDown', seconds=0.05)]
randomness = dict(seed=2024)
'''


@pytest.mark.skipif(not hasattr(signal, 'SIGKILL'), reason='POSIX only')
def test_ddpm_sigkill_then_resume_is_bit_identical(tmp_path, kill_rng):
    (tmp_path / 'killresume_data.py').write_text(DATA_MODULE)
    (tmp_path / 'cfg.py').write_text(CONFIG)
    straight_dir, killed_dir = tmp_path / 'straight', tmp_path / 'killed'
    rng = kill_rng  # seeded, seed printed: GENFORGE_KILL_SEED reruns this kill point
    kill_after = rng.choice([1, 2, 3]) * INTERVAL
    straight = _train(tmp_path, 'straight')
    victim = _train(tmp_path, 'killed')
    deadline = time.time() + 240
    while _pointer_iter(killed_dir) < kill_after:
        assert victim.poll() is None, f'training ended before the kill: {_stderr(victim)}'
        assert time.time() < deadline, 'no checkpoint appeared'
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.1))
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(60) == -signal.SIGKILL
    resume_point = _pointer_iter(killed_dir)
    assert kill_after <= resume_point < MAX_ITERS, 'the kill must land before the end'

    resumed = _train(tmp_path, 'killed', '--resume')
    assert straight.wait(240) == 0, _stderr(straight)
    assert resumed.wait(240) == 0, _stderr(resumed)

    a = torch.load(straight_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu', weights_only=True)
    b = torch.load(killed_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu', weights_only=True)
    assert any(k.startswith('denoising_ema.module.') for k in a['state_dict'])
    assert set(a['optimizer']) == {'denoising'}
    for key in ('state_dict', 'optimizer', 'rng_state', 'sampler'):
        _assert_same(a[key], b[key], key)
    la, lb = _scalars(straight_dir), _scalars(killed_dir)
    assert sorted(la) == sorted(lb) == list(range(1, MAX_ITERS + 1))
    assert any(k.startswith('loss_vlb_quartile_') for k in la[MAX_ITERS])
    for it in range(1, MAX_ITERS + 1):
        assert la[it] == lb[it], f'iteration {it} logged differently'
