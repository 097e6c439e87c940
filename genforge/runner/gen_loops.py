"""GenValLoop / GenTestLoop: evaluate generative metrics (FID, IS, KID, PR, SWD, MS-SSIM, PPL).

For every group of metrics that need the same inputs (same ``SAMPLER_MODE``, ``sample_model``,
``need_cond_input``), one sampler drives the model: generative metrics ask for ``fake_nums``
samples in dataloader-sized batches (``inputs=dict(num_batches=N, sample_model=...)``), normal
metrics (SWD, TransFID) iterate over real batches. Each rank generates its share; each metric
gathers across ranks once in ``evaluate``. Keys come out as ``<prefix>/<name>``
(``FID-Full-50k/fid``), and each metric's protocol string is logged and kept in the message hub
under ``'eval_protocols'`` (``{prefix: 'fid@inception=pt2015,...'}``).

Config (seed 004):
    val_cfg = dict(type='GenValLoop')
    test_cfg = dict(type='GenTestLoop')
"""
from __future__ import annotations

import logging

import torch

from ..optim.amp import autocast_for
from ..registry import LOOPS
from .loops import BaseLoop

__all__ = ['GenValLoop', 'GenTestLoop']

logger = logging.getLogger(__name__)


def _unwrap(model):
    return model.module if hasattr(model, 'module') and isinstance(model.module,
                                                                   torch.nn.Module) else model


class _GenLoopBase(BaseLoop):
    """Shared body of GenValLoop and GenTestLoop; ``_stage`` is 'val' or 'test'."""
    _stage = 'val'

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False):
        super().__init__(runner, dataloader)
        self.evaluator = runner.build_evaluator(evaluator, key_path=f'{self._stage}_evaluator') \
            if hasattr(runner, 'build_evaluator') else evaluator
        meta = getattr(getattr(self.dataloader, 'dataset', None), 'metainfo', None)
        if meta is not None and self.evaluator is not None:
            self.evaluator.dataset_meta = meta
        self.fp16 = fp16

    def _hook(self, name: str, **kwargs) -> None:
        call = getattr(self._runner, 'call_hook', None)
        if call is not None:
            call(name, **kwargs)

    def run(self) -> dict:
        """Prepare metrics once, sample every group, evaluate, publish protocols."""
        stage = self._stage
        self._hook(f'before_{stage}')
        self._hook(f'before_{stage}_epoch')
        was_training = self._runner.model.training
        self._runner.model.eval()
        module = _unwrap(self._runner.model)
        # real statistics (FID/KID/PR) are computed on the first run only
        self.evaluator.prepare_metrics(module, self.dataloader)
        idx = 0
        for metrics, sampler in self.evaluator.prepare_samplers(module, self.dataloader):
            for data in sampler:
                self.run_iter(idx, data, metrics)
                idx += 1
        results = self.evaluator.evaluate()
        self._publish_protocols()
        self._hook(f'after_{stage}_epoch', metrics=results)
        self._hook(f'after_{stage}')
        self._runner.model.train(was_training)
        return results

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: dict, metrics: list) -> None:
        """One sampler step: the model generates, the group's metrics consume."""
        stage = self._stage
        self._hook(f'before_{stage}_iter', batch_idx=idx, data_batch=data_batch)
        # fp16 on CUDA, bf16 on a CPU with native bf16, fp32 (no autocast) on other CPUs
        with autocast_for(_device_type(self._runner.model), enabled=self.fp16):
            outputs = getattr(self._runner.model, f'{stage}_step')(data_batch)
        self.evaluator.process(outputs, data_batch, metrics)
        self._hook(f'after_{stage}_iter', batch_idx=idx, data_batch=data_batch, outputs=outputs)

    def _publish_protocols(self) -> dict:
        protocols = {}
        for metric in self.evaluator.metrics or []:
            proto = getattr(metric, 'protocol', None)
            if proto is not None:
                protocols[metric.prefix or type(metric).__name__] = proto
                logger.info('%s protocol: %s', metric.prefix or type(metric).__name__, proto)
        hub = getattr(self._runner, 'message_hub', None)
        if hub is not None and protocols:
            hub.update_info('eval_protocols', protocols)
        return protocols


def _device_type(model) -> str:
    params = list(model.parameters())
    return params[0].device.type if params else 'cpu'


@LOOPS.register_module()
class GenValLoop(_GenLoopBase):
    """Validation loop for generative models (MMGeneration 1.x / MMagic name).

    Example: val_cfg = dict(type='GenValLoop'); val_evaluator = dict(type='GenEvaluator',
        metrics=[dict(type='FrechetInceptionDistance', prefix='FID-Full-50k', fake_nums=50000,
                      inception_style='StyleGAN', sample_model='ema')])
    """
    _stage = 'val'


@LOOPS.register_module()
class GenTestLoop(_GenLoopBase):
    """Test loop for generative models (same as GenValLoop, with test hooks and test_step).

    Example: test_cfg = dict(type='GenTestLoop')
    """
    _stage = 'test'
