"""Issue 6's end-to-end check: a DCGAN config with val_evaluator FID + SWD trains through the
Runner, validates, and CheckpointHook keeps the best checkpoint by FID (with its protocol)."""
from __future__ import annotations

import math

import torch

from genforge.config import Config
from genforge.evaluation.inception import InceptionV3FID
from genforge.runner import Runner


def test_dcgan_fid_swd_validation_keeps_best_checkpoint(tmp_path):
    inception = tmp_path / 'random_inception.pth'
    torch.manual_seed(0)
    torch.save(InceptionV3FID().state_dict(), inception)  # test-only weights: protocol says custom
    loader = dict(batch_size=4, num_workers=0,
                  dataset=dict(type='DigitsDataset', img_size=16, indices=8))
    cfg = Config(dict(
        work_dir=str(tmp_path / 'work'),
        model=dict(type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
                   generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1,
                                  base_channels=16),
                   discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                                      in_channels=1, out_channels=1, base_channels=8)),
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler', shuffle=True)),
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(constructor='GenOptimWrapperConstructor',
                           generator=dict(optimizer=dict(type='Adam', lr=2e-4)),
                           discriminator=dict(optimizer=dict(type='Adam', lr=2e-4))),
        train_cfg=dict(by_epoch=False, max_iters=2, val_interval=2),
        val_cfg=dict(type='GenValLoop'),
        val_evaluator=dict(type='GenEvaluator', metrics=[
            dict(type='FrechetInceptionDistance', prefix='FID-Full-50k', fake_nums=6, real_nums=8,
                 inception_style='PyTorch', inception_path=str(inception), sample_model='orig'),
            dict(type='SWD', prefix='SWD', fake_nums=8, image_shape=(1, 16, 16),
                 sample_model='orig')]),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False,
                                           save_best=['FID-Full-50k/fid', 'SWD/avg'],
                                           rule=['less', 'less'])),
        randomness=dict(seed=0)))
    runner = Runner.from_cfg(cfg)
    runner.train()
    work = tmp_path / 'work'
    best = sorted(p.name for p in work.glob('best_*.pth'))
    assert best == ['best_FID-Full-50k_fid_iter_2.pth', 'best_SWD_avg_iter_2.pth']
    ckpt = torch.load(work / best[0], map_location='cpu', weights_only=True)
    protocol = ckpt['meta']['metric_protocols']['FID-Full-50k']
    assert protocol.startswith('fid@inception=custom-') and 'fake=6' in protocol
    hub = runner.message_hub
    assert math.isfinite(hub.get_info('best_score_FID-Full-50k/fid'))
