"""CycleGAN: unpaired translation with cycle and identity losses (MMagic's ``CycleGAN``)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from genforge.registry import MODELS

from .base_translation_model import BaseTranslationModel

__all__ = ['CycleGAN', 'GANImageBuffer']


class GANImageBuffer:
    """History of generated images for D (Shrivastava et al.): once full, each queried image is,
    with probability ``buffer_ratio``, swapped with a random stored one (np.random, as MMagic).

    The buffer is training state: ``state_dict()`` / ``load_state_dict()`` carry it through
    checkpoints so that a resumed run draws exactly what an uninterrupted one would.
    """

    def __init__(self, buffer_size: int, buffer_ratio: float = 0.5):
        if buffer_size < 0:
            raise ValueError(f'model.buffer_size={buffer_size} must be >= 0 (0: no buffer)')
        self.buffer_size = buffer_size
        self.buffer_ratio = buffer_ratio
        self.image_buffer: list[Tensor] = []

    @property
    def img_num(self) -> int:
        return len(self.image_buffer)

    def query(self, images: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W): a mix of ``images`` and stored ones (detached)."""
        if self.buffer_size == 0:
            return images
        out = []
        for image in images:
            image = image.detach().unsqueeze(0)
            if self.img_num < self.buffer_size:
                self.image_buffer.append(image)
                out.append(image)
            elif np.random.random() < self.buffer_ratio:
                idx = np.random.randint(0, self.buffer_size)
                out.append(self.image_buffer[idx].clone())
                self.image_buffer[idx] = image
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        images = torch.cat(self.image_buffer, 0).cpu() if self.image_buffer else torch.zeros(0)
        return dict(buffer_size=self.buffer_size, images=images)

    def load_state_dict(self, state: dict, device: torch.device | None = None) -> None:
        if int(state['buffer_size']) != self.buffer_size:
            raise ValueError(f"checkpoint image pool has buffer_size={int(state['buffer_size'])}, "
                             f'the model has model.buffer_size={self.buffer_size}')
        images = state['images']
        self.image_buffer = [img.unsqueeze(0).to(device) for img in images] if images.numel() \
            else []


@MODELS.register_module()
class CycleGAN(BaseTranslationModel):
    """Unpaired translation between two domains (Zhu et al., 2017); LSGAN losses.

    For each reachable domain ``t`` with source ``s``: ``fake_t = G_t(real_s)``,
    ``cycle_s = G_s(fake_t)``. D_t: MSE(D_t(pool_t(fake_t)), 0) + MSE(D_t(real_t), 1), halved.
    G: sum_t MSE(D_t(fake_t), 1) + ``cycle_loss_weight`` * sum L1(cycle, real) +
    ``id_loss_weight`` * sum L1(G_t(real_t), real_t) (skipped when 0). The image pools
    (``buffer_size`` images per domain) are saved in checkpoints for exact resume.

    Example:
        dict(type='CycleGAN', data_preprocessor=dict(type='DataPreprocessor',
                                                     data_keys=['img_photo', 'img_mask']),
             generator=dict(type='ResnetGenerator', in_channels=3, out_channels=3),
             discriminator=dict(type='PatchDiscriminator', in_channels=3,
                                norm_cfg=dict(type='IN')),
             loss_config=dict(cycle_loss_weight=10., id_loss_weight=0.5), buffer_size=50,
             default_domain='photo', reachable_domains=['photo', 'mask'],
             related_domains=['photo', 'mask'])
    """

    def __init__(self, *args, buffer_size: int = 50,
                 loss_config: dict | None = dict(cycle_loss_weight=10., id_loss_weight=0.5),  # noqa: B006
                 **kwargs):
        super().__init__(*args, loss_config=loss_config, **kwargs)
        for key in ('cycle_loss_weight', 'id_loss_weight'):
            if key not in self.loss_config:
                raise KeyError(f'model.loss_config.{key} is missing; CycleGAN needs '
                               'dict(cycle_loss_weight=10., id_loss_weight=0.5) (id 0: no '
                               'identity loss)')
        self.buffer_size = buffer_size
        self.image_buffers = {d: GANImageBuffer(buffer_size) for d in self._reachable_domains}

    def test_directions(self) -> list[tuple[str, str]]:
        """Both ways: each reachable domain is translated into the other."""
        return [(src, self.get_other_domains(src)[0]) for src in self._reachable_domains]

    def forward_outputs(self, inputs: dict[str, Tensor]) -> dict[str, Any]:
        outputs = {}
        for tgt in self._reachable_domains:
            src = self.get_other_domains(tgt)[0]
            outputs[f'real_{src}'] = inputs[f'img_{src}']
            fake = self.forward_train(inputs[f'img_{src}'], target_domain=tgt)['target']
            outputs[f'fake_{tgt}'] = fake
            outputs[f'cycle_{src}'] = self.forward_train(fake, target_domain=src)['target']
        return outputs

    def disc_loss(self, outputs: dict[str, Any]) -> tuple[Tensor, dict]:
        total, log_vars = 0., {}
        for d in self._reachable_domains:
            disc = self._get_target_discriminator(d)
            fake_pred = disc(self.image_buffers[d].query(outputs[f'fake_{d}']).detach())
            real_pred = disc(outputs[f'real_{d}'])
            loss, logs = self.parse_losses({
                f'loss_gan_d_{d}_fake': F.mse_loss(fake_pred, torch.zeros_like(fake_pred)),
                f'loss_gan_d_{d}_real': F.mse_loss(real_pred, torch.ones_like(real_pred))})
            total = total + loss * 0.5
            log_vars[f'loss_gan_d_{d}'] = logs['loss'] * 0.5
        log_vars['loss'] = total.detach()
        return total, log_vars

    def gen_loss(self, outputs: dict[str, Any]) -> tuple[Tensor, dict]:
        losses = {}
        for d in self._reachable_domains:
            fake_pred = self._get_target_discriminator(d)(outputs[f'fake_{d}'])
            losses[f'loss_gan_g_{d}'] = F.mse_loss(fake_pred, torch.ones_like(fake_pred))
        weight = self.loss_config['cycle_loss_weight']
        losses['cycle_loss'] = sum(weight * F.l1_loss(outputs[f'cycle_{d}'], outputs[f'real_{d}'])
                                   for d in self._reachable_domains)
        weight = self.loss_config['id_loss_weight']
        if weight != 0.:
            losses['id_loss'] = sum(
                weight * F.l1_loss(self.translation(outputs[f'real_{d}'], d), outputs[f'real_{d}'])
                for d in self._reachable_domains)
        return self.parse_losses(losses)

    # -- image pools as training state (not in state_dict: MMagic checkpoints load strictly) --
    def train_state_dict(self) -> dict:
        """Extra training state the runner stores next to the weights."""
        return {'image_buffers': {d: b.state_dict() for d, b in self.image_buffers.items()}}

    def load_train_state_dict(self, state: dict) -> None:
        device = next(self.parameters()).device
        for d, buf in state.get('image_buffers', {}).items():
            if d not in self.image_buffers:
                raise KeyError(f'checkpoint has an image pool for domain {d!r}; the model has '
                               f'{list(self.image_buffers)} (model.reachable_domains)')
            self.image_buffers[d].load_state_dict(buf, device)
