"""BaseTranslationModel: image-to-image translation between named domains (MMagic semantics).

A translation model owns one generator and one discriminator per *reachable* domain
(``generators.<domain>``, ``discriminators.<domain>``: MMagic's checkpoint layout). Batches carry
images as ``inputs['img_<domain>']`` (MMagic's KeyMapper + PackInputs); ``related_domains`` also
lists source-only domains. Unlike noise->image GANs, the generators run once per iteration and
both the D and the G step read that one set of outputs, so the step lives here, once; subclasses
define ``forward_outputs`` (what to translate), ``disc_loss`` and ``gen_loss`` only.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from genforge.models.base_model import BaseModel
from genforge.models.utils import set_requires_grad
from genforge.models.wrappers import unwrap_model
from genforge.registry import MODELS
from genforge.structures import DataSample

from .base_gan import current_iteration

__all__ = ['BaseTranslationModel']


class BaseTranslationModel(BaseModel):
    """Domain bookkeeping, translation and the shared train/val/test steps.

    Args:
        generator / discriminator: configs built once per reachable domain (discriminator None:
            inference only).
        default_domain: domain ``translation`` produces when none is given.
        reachable_domains: domains the model can generate (one generator each).
        related_domains: every domain of a batch; a superset of ``reachable_domains``.
        data_preprocessor: e.g. dict(type='DataPreprocessor', data_keys=['img_a', 'img_b']).
        discriminator_steps: D updates per G update.
        disc_init_steps: iterations that train D only.
        loss_config: loss weights read by the subclass.
    """

    def __init__(self, generator: dict | nn.Module, discriminator: dict | nn.Module | None,
                 default_domain: str, reachable_domains: list[str], related_domains: list[str],
                 data_preprocessor: dict | nn.Module | None = None, discriminator_steps: int = 1,
                 disc_init_steps: int = 0, real_img_key: str = 'real_img',
                 loss_config: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor)
        _check_domains(default_domain, reachable_domains, related_domains)
        self._default_domain = default_domain
        self._reachable_domains = list(reachable_domains)
        self._related_domains = list(related_domains)
        self.discriminator_steps = discriminator_steps
        self.disc_init_steps = disc_init_steps
        self.real_img_key = real_img_key
        self._gen_cfg = copy.deepcopy(generator)
        self._disc_cfg = copy.deepcopy(discriminator)
        self.generators = nn.ModuleDict({
            d: MODELS.build(generator, key_path='model.generator')
            for d in self._reachable_domains})
        self.discriminators = None if discriminator is None else nn.ModuleDict({
            d: MODELS.build(discriminator, key_path='model.discriminator')
            for d in self._reachable_domains})
        self.loss_config = dict(loss_config or {})
        self.init_weights()

    def init_weights(self) -> None:
        """Each network's own rule (``generation_init_weights`` for the MMagic networks)."""
        for modules in (self.generators, self.discriminators):
            for net in (unwrap_model(modules).values() if modules is not None else ()):
                if hasattr(net, 'init_weights'):
                    net.init_weights()

    # -- domains ---------------------------------------------------------------------------
    @property
    def default_domain(self) -> str:
        return self._default_domain

    @property
    def reachable_domains(self) -> list[str]:
        return list(self._reachable_domains)

    @property
    def related_domains(self) -> list[str]:
        return list(self._related_domains)

    def is_domain_reachable(self, domain: str) -> bool:
        return domain in self._reachable_domains

    def get_other_domains(self, domain: str) -> list[str]:
        """Related domains other than ``domain``, in ``related_domains`` order."""
        return [d for d in self._related_domains if d != domain]

    def _check_reachable(self, domain: str) -> None:
        if not self.is_domain_reachable(domain):
            raise ValueError(f'target_domain={domain!r} is not a domain this model generates; '
                             f'reachable_domains={self._reachable_domains} '
                             f'(model.reachable_domains). Pick one of those.')

    def _get_target_generator(self, domain: str) -> nn.Module:
        self._check_reachable(domain)
        return unwrap_model(self.generators)[domain]

    def _get_target_discriminator(self, domain: str) -> nn.Module:
        self._check_reachable(domain)
        if self.discriminators is None:
            raise RuntimeError('this model was built with discriminator=None (inference only)')
        return unwrap_model(self.discriminators)[domain]

    # -- translation -----------------------------------------------------------------------
    def translation(self, image: Tensor, target_domain: str | None = None, **kwargs) -> Tensor:
        """(N, C, H, W) normalised image -> the ``target_domain`` generator's output."""
        domain = self._default_domain if target_domain is None else target_domain
        return self._get_target_generator(domain)(image, **kwargs)

    def forward(self, img: Tensor, test_mode: bool = False, **kwargs) -> dict[str, Tensor]:
        """MMagic's interface: ``model(img, test_mode=True, target_domain='photo')`` ->
        ``dict(source=img, target=translated)``."""
        if test_mode:
            return self.forward_test(img, **kwargs)
        return self.forward_train(img, **kwargs)

    def forward_train(self, img: Tensor, target_domain: str, **kwargs) -> dict[str, Tensor]:
        return dict(source=img, target=self.translation(img, target_domain, **kwargs))

    @contextmanager
    def _train_mode_without_side_effects(self, domain: str):
        """pix2pix/CycleGAN translate in train mode (BN batch statistics, dropout on), as in
        the original code and MMagic; the BN running statistics are restored afterwards, so
        evaluating never changes the model."""
        net = self._get_target_generator(domain)
        was_training = net.training
        saved = {k: v.clone() for k, v in net.state_dict().items() if 'running' in k
                 or k.endswith('num_batches_tracked')}
        net.train()
        try:
            yield
        finally:
            net.train(was_training)
            if saved:
                net.load_state_dict(saved, strict=False)

    def forward_test(self, img: Tensor, target_domain: str, **kwargs) -> dict[str, Tensor]:
        domain = target_domain
        self._check_reachable(domain)
        with self._train_mode_without_side_effects(domain):
            target = self.translation(img, domain, **kwargs)
        return dict(source=img, target=target)

    # -- training --------------------------------------------------------------------------
    def forward_outputs(self, inputs: dict[str, Tensor]) -> dict[str, Any]:
        """Translate a preprocessed batch: ``real_<d>``, ``fake_<d>`` (and more) tensors."""
        raise NotImplementedError

    def disc_loss(self, outputs: dict[str, Any]) -> tuple[Tensor, dict]:
        raise NotImplementedError

    def gen_loss(self, outputs: dict[str, Any]) -> tuple[Tensor, dict]:
        raise NotImplementedError

    def should_update_generator(self, curr_iter: int, disc_accu_counts: int) -> bool:
        """G trains once D had ``discriminator_steps`` full updates, after ``disc_init_steps``."""
        return (curr_iter + 1) % (self.discriminator_steps * disc_accu_counts) == 0 \
            and curr_iter >= self.disc_init_steps

    def train_step(self, data: dict, optim_wrapper, iteration: int | None = None) -> dict:
        """Translate once; update the discriminators, then (when due) the generators.

        ``iteration``: the loop's 0-based iteration (default: what the train loop published,
        as for BaseGAN); losses read it from ``outputs['iteration']``.
        """
        curr_iter = current_iteration() if iteration is None else int(iteration)
        data = self.data_preprocessor(data, True)
        inputs = data['inputs']
        _check_batch_domains(inputs, self._related_domains)
        disc_wrapper = optim_wrapper['discriminators']
        disc_accu = disc_wrapper._accumulative_counts
        with disc_wrapper.optim_context(self.discriminators):
            outputs = self.forward_outputs(inputs)
            outputs.update(iteration=curr_iter,
                           batch_size=next(iter(inputs.values())).shape[0],
                           loss_scaler=getattr(disc_wrapper, 'loss_scaler', None))
            set_requires_grad(self.discriminators, True)
            loss_d, log_vars = self.disc_loss(outputs)
            disc_wrapper.update_params(loss_d)
        if self.should_update_generator(curr_iter, disc_accu):
            # frozen D: G's loss must not accumulate gradients in D
            set_requires_grad(self.discriminators, False)
            gen_wrapper = optim_wrapper['generators']
            with gen_wrapper.optim_context(self.generators):
                loss_g, log_vars_g = self.gen_loss(outputs)
                gen_wrapper.update_params(loss_g)
            set_requires_grad(self.discriminators, True)
            log_vars_g.pop('loss', None)  # 'loss' stays D's total
            log_vars.update(log_vars_g)
        return log_vars

    # -- evaluation ------------------------------------------------------------------------
    def test_directions(self) -> list[tuple[str, str]]:
        """(source, target) pairs val/test translate; default: into the first reachable domain."""
        target = self._reachable_domains[0]
        return [(self.get_other_domains(target)[0], target)]

    @torch.no_grad()
    def test_step(self, data: dict) -> list[DataSample]:
        """One DataSample per image: the batch's fields plus ``fake_<target>`` in [0, 255] BGR."""
        data = self.data_preprocessor(data)
        inputs, samples = data['inputs'], data['data_samples']
        _check_batch_domains(inputs, [s for s, _ in self.test_directions()])
        fakes = {tgt: self.forward_test(inputs[f'img_{src}'], target_domain=tgt)['target']
                 for src, tgt in self.test_directions()}
        samples = samples.split() if isinstance(samples, DataSample) else list(samples or [])
        out = []
        for idx in range(next(iter(fakes.values())).shape[0]):
            sample = DataSample()
            if samples:
                sample.update(samples[idx])
            for tgt, fake in fakes.items():
                meta = samples[idx] if samples else None
                sample.set_field(self.data_preprocessor.destruct(fake[idx], meta, f'img_{tgt}'),
                                 f'fake_{tgt}')
            out.append(sample)
        return out

    val_step = test_step


def _check_domains(default: str, reachable: list[str], related: list[str]) -> None:
    for key, value in (('reachable_domains', reachable), ('related_domains', related)):
        if not isinstance(value, (list, tuple)) or not value or \
                not all(isinstance(d, str) for d in value):
            raise ValueError(f'model.{key} must be a non-empty list of domain names, got {value!r}')
    if default not in reachable:
        raise ValueError(f'model.default_domain={default!r} is not in model.reachable_domains='
                         f'{list(reachable)}')
    missing = [d for d in reachable if d not in related]
    if missing:
        raise ValueError(f'model.reachable_domains {missing} are not in model.related_domains='
                         f'{list(related)}; related_domains must list every reachable domain')


def _check_batch_domains(inputs: Any, domains: list[str]) -> None:
    """The batch must hold ``img_<domain>`` for each domain; name the missing key and the fix."""
    have = list(inputs) if isinstance(inputs, dict) else []
    missing = [f'img_{d}' for d in domains if f'img_{d}' not in have]
    if missing:
        raise KeyError(f'the batch has no {missing} (inputs keys: {have}). Map the dataset keys '
                       f"to the model's domains with dict(type='KeyMapper', mapping="
                       f"{{'img_<domain>': 'img_A', ...}}) and pack them with "
                       f"PackInputs(keys=[...]) (model.related_domains={domains})")
