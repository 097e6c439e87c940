"""The code in docs/writing-a-model.md runs: its classes register, build from its configs and train."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from genforge.optim import build_optim_wrapper
from genforge.registry import MODELS
from genforge.runner import MessageHub

DOC = Path(__file__).resolve().parents[2] / 'docs' / 'writing-a-model.md'


def _doc_namespace() -> dict:
    blocks = re.findall(r'```python\n(.*?)```', DOC.read_text(), flags=re.S)
    ns: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), 'exec'), ns)  # noqa: S102 - our own documentation
    return ns


def test_writing_a_model_examples_train(monkeypatch):
    # The doc registers classes under fixed names; remove them afterwards so reruns work.
    added = ['MyDCGANGenerator', 'MyDCGAN', 'MySRCNN']
    try:
        ns = _doc_namespace()
        sr_cfg = dict(ns['model'])  # the doc's last `model` config is the SRCNN one
        assert sr_cfg['type'] == 'BaseEditModel'
        sr = MODELS.build(sr_cfg)
        lq, gt = torch.rand(2, 3, 8, 8) * 255, torch.rand(2, 3, 32, 32) * 255
        from genforge.structures import DataSample
        samples = [DataSample(gt_img=g) for g in gt]
        ow = build_optim_wrapper(sr, dict(optimizer=dict(type='Adam', lr=1e-4)))
        MessageHub.get_current_instance().update_info('iter', 0)
        log = sr.train_step(dict(inputs=list(lq), data_samples=samples), ow)
        assert torch.isfinite(log['loss'])

        gan = MODELS.build(dict(
            type='MyDCGAN', noise_size=16, data_preprocessor=dict(type='GANDataPreprocessor'),
            generator=dict(type='MyDCGANGenerator', output_scale=16, base_channels=32),
            discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                               out_channels=1, base_channels=8),
            ema_config=dict(interval=1, momentum=0.001)))
        ow = build_optim_wrapper(gan, dict(
            constructor='GenOptimWrapperConstructor',
            generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
            discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))))
        imgs = [torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8) for _ in range(4)]
        before = [p.clone() for p in gan.generator.parameters()]
        log = gan.train_step(dict(inputs=dict(img=imgs)), ow)
        assert {'loss_disc_fake', 'loss_disc_real', 'loss_gen'} <= set(log)
        assert all(torch.isfinite(v) for v in log.values())
        assert any(not torch.equal(a, b) for a, b in zip(before, gan.generator.parameters()))
    finally:
        for name in added:
            MODELS.module_dict.pop(name, None)
