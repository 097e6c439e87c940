"""The shipped DCGAN-MNIST config (MMagic's, with ``SWD(fake_nums=-1)``) trains and validates on
a tiny image folder: -1 means "as many as the validation set has" (issue 22). Only sizes change:
6 grayscale 20x20 images, batch 2, 2 iterations, narrower networks, MS-SSIM on 4 samples and
a 4-sample grid."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from genforge.config import Config
from genforge.runner import Runner

CFG = Path(__file__).resolve().parents[2] / 'configs/dcgan/' \
    'dcgan_Glr4e-4_Dlr1e-4_1xb128-5kiters_mnist-64x64.py'


def test_dcgan_mnist_config_swd_uses_the_whole_validation_set(tmp_path):
    root = tmp_path / 'mnist_64'
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(root / f'{i}.png')
    cfg = Config.fromfile(str(CFG))
    assert [m['fake_nums'] for m in cfg.val_evaluator.metrics if m['type'] == 'SWD'] == [-1]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[key].dataset.data_root = str(root)
    cfg.model.generator.base_channels = 32
    cfg.model.discriminator.base_channels = 8
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.val_evaluator.metrics[0].fake_nums = 4  # MS-SSIM: 10000 -> 4
    cfg.default_hooks.checkpoint.interval = 2
    cfg.custom_hooks[0].update(interval=2, n_samples=4)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    protocols = runner.message_hub.get_info('eval_protocols')
    assert 'fake=6' in protocols['swd'], protocols  # the 6 validation images, not 0
    records = [json.loads(line) for line in open(f'{runner.log_dir}/vis_data/scalars.json')
               if 'swd/avg' in line]
    assert len(records) == 1 and math.isfinite(records[0]['swd/avg'])
    assert records[0]['swd/avg'] > 0 and math.isfinite(records[0]['ms-ssim/avg'])
    assert (tmp_path / 'work' / 'best_swd_avg_iter_2.pth').is_file()
    assert list(Path(runner.log_dir).glob('vis_data/vis_image/fake_img_*.png'))
