"""SIGKILL a StyleGAN2 + ADA run with lazy regularisation, `genforge train --resume`, and it
ends bit-identical to an uninterrupted run: weights, EMA, optimizers, ADA's adaptive ``p`` and
the path-length running mean (the state that lazy R1 / path-length iterations and ADA's
update interval depend on). Tiny 16x16 networks on CPU; the helpers are the DCGAN test's."""
from __future__ import annotations

import signal
import time

import torch

from tests.integration.test_kill_resume import (
    DATA_MODULE,
    _assert_same,
    _pointer_iter,
    _scalars,
    _stderr,
    _train,
)

MAX_ITERS, INTERVAL = 16, 4
# the DCGAN test's in-memory dataset, with RGB images (ADA's colour transforms need 3 channels)
RGB_DATA_MODULE = DATA_MODULE.replace('(n, 1, size, size)', '(n, 3, size, size)')

CONFIG = f'''
custom_imports = dict(imports=['killresume_data'])
aug = dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1,
           contrast=1, lumaflip=1, hue=1, saturation=1)
model = dict(
    type='StyleGAN2', data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='StyleGANv2Generator', out_size=16, style_channels=16, num_mlps=2,
                   max_channels=8),
    discriminator=dict(type='ADAStyleGAN2Discriminator', in_size=16, max_channels=8,
                       data_aug=dict(type='ADAAug', aug_pipeline=aug, update_interval=2,
                                     ada_kimg=0.05, augment_initial_p=0.2)),
    # lazy regularisation on every 2nd (R1) / 3rd (path length) iteration: checkpoints every
    # {INTERVAL} iterations fall at every phase of them
    loss_config=dict(r1_loss_weight=2., r1_interval=2, norm_mode='HWC', g_reg_interval=3,
                     g_reg_weight=6., pl_batch_shrink=2),
    ema_config=dict(type='ExponentialMovingAverage', interval=1, momentum=0.3))
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='KillResumeImages'))
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-3, betas=(0, 0.99))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-3, betas=(0, 0.99))))
train_cfg = dict(by_epoch=False, max_iters={MAX_ITERS})
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval={INTERVAL}, by_epoch=False,
                                     max_keep_ckpts=3))
custom_hooks = [dict(type='KillResumeSlowDown', seconds=0.05)]
randomness = dict(seed=7)
'''


def test_stylegan2_ada_lazy_reg_sigkill_then_resume_is_bit_identical(tmp_path, kill_rng):
    (tmp_path / 'killresume_data.py').write_text(RGB_DATA_MODULE)
    (tmp_path / 'cfg.py').write_text(CONFIG)
    straight_dir, killed_dir = tmp_path / 'straight', tmp_path / 'killed'
    rng = kill_rng  # seeded, seed printed: GENFORGE_KILL_SEED reruns this kill point
    kill_after = rng.choice([1, 2]) * INTERVAL
    delay = rng.uniform(0.0, 0.3)

    straight = _train(tmp_path, 'straight')
    victim = _train(tmp_path, 'killed')
    deadline = time.time() + 240
    while _pointer_iter(killed_dir) < kill_after:
        assert victim.poll() is None, f'training ended before the kill: {_stderr(victim)}'
        assert time.time() < deadline, 'no checkpoint appeared'
        time.sleep(0.005)
    time.sleep(delay)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(60) == -signal.SIGKILL
    resume_point = _pointer_iter(killed_dir)
    assert kill_after <= resume_point < MAX_ITERS, 'the kill must land before the end'

    resumed = _train(tmp_path, 'killed', '--resume')
    assert straight.wait(240) == 0, _stderr(straight)
    assert resumed.wait(240) == 0, _stderr(resumed)

    a = torch.load(straight_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu', weights_only=True)
    b = torch.load(killed_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu', weights_only=True)
    state = a['state_dict']
    p_key = 'discriminator.ada_aug.aug_pipeline.p'
    assert state[p_key].item() != 0.2, 'ADA p never adapted: the test would not cover it'
    assert state['mean_path_length'].item() > 0, 'path-length mean never updated'
    for key in (p_key, 'mean_path_length', 'discriminator.ada_aug.log_buffer'):
        assert torch.equal(state[key], b['state_dict'][key]), key
    for key in ('state_dict', 'optimizer', 'rng_state', 'sampler'):
        _assert_same(a[key], b[key], key)
    la, lb = _scalars(straight_dir), _scalars(killed_dir)
    assert sorted(la) == sorted(lb) == list(range(1, MAX_ITERS + 1))
    for it in range(1, MAX_ITERS + 1):
        assert la[it] == lb[it], f'iteration {it} logged differently'
    # lazy R1 / path-length iterations were logged (and so compared) on both sides
    assert any('loss_r1_gp' in rec for rec in la.values())
    assert any('loss_path_regular' in rec for rec in la.values())
