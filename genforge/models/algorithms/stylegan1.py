"""StyleGANv1 (Karras et al., CVPR 2019): the style-based generator trained with PGGAN's
progressive growing schedule, a non-saturating discriminator loss and R1 on real images.

The schedule (``nkimgs_per_scale``, ``transition_kimgs``, ``curr_scale``,
``transition_weight``, the buffers ``shown_nkimg`` ...) is ProgressiveGrowingGAN's, unchanged;
this class only swaps the networks' size arguments and the losses, as MMagic's does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.registry import MODELS

from .base_gan import ModelType
from .pggan import ProgressiveGrowingGAN


def _style_channels(style_channels: int | None, generator: ModelType) -> int | None:
    """``style_channels`` from the model argument or the generator; they must agree."""
    gen_channels = generator.get('style_channels') if isinstance(generator, dict) \
        else getattr(generator, 'style_channels', None)
    if style_channels is not None and gen_channels is not None and style_channels != gen_channels:
        raise ValueError(f'model.style_channels={style_channels} disagrees with '
                         f'model.generator.style_channels={gen_channels}; set them equal')
    return style_channels if style_channels is not None else gen_channels


@MODELS.register_module(name=['StyleGANv1', 'StyleGAN1', 'StyleGANV1'])
class StyleGANv1(ProgressiveGrowingGAN):
    """StyleGANv1 algorithm: progressive growing (see ProgressiveGrowingGAN) of
    ``StyleGANv1Generator`` / ``StyleGAN1Discriminator``; one optimizer pair per scale.

    Losses: D ``softplus(D(fake)) + softplus(-D(real)) + 10 * R1`` with R1 the squared gradient
    norm of D at the real images (N, 3, curr_scale, curr_scale), summed over C*H*W and averaged
    over the batch; G ``-D(fake)`` (MMagic's choice).

    Example: dict(type='StyleGANv1', data_preprocessor=dict(type='DataPreprocessor'),
                  style_channels=512,
                  generator=dict(type='StyleGANv1Generator', out_size=256, style_channels=512),
                  discriminator=dict(type='StyleGAN1Discriminator', in_size=256),
                  nkimgs_per_scale={'8': 1200, '16': 1200, '32': 1200, '64': 1200,
                                    '128': 1200, '256': 190000},
                  ema_config=dict(interval=1, momentum=0.0022))
    """

    def __init__(self, generator: ModelType, discriminator: ModelType | None = None,
                 data_preprocessor: dict | nn.Module | None = None, style_channels: int = 512,
                 nkimgs_per_scale: dict | None = None, interp_real: dict | None = None,
                 transition_kimgs: int = 600, prev_stage: int = 0,
                 ema_config: dict | None = None):
        style_channels = _style_channels(style_channels, generator)
        # noise_size=None: the generator takes no noise_size argument; its style_channels is it
        super().__init__(generator, discriminator, data_preprocessor, nkimgs_per_scale,
                         None, interp_real, transition_kimgs, prev_stage, ema_config)
        self.noise_size = style_channels

    def network_max_scale(self) -> int:
        return min(self.generator.out_size, self.discriminator.in_size)

    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        real = self._fit_real(outputs['real_imgs']).detach().requires_grad_(True)
        scores = self.discriminate(real)
        # create_graph: the penalty itself is differentiated w.r.t. D's weights
        grads = torch.autograd.grad(scores, real, torch.ones_like(scores), create_graph=True,
                                    only_inputs=True)[0]
        r1 = grads.pow(2).reshape(real.shape[0], -1).sum(1).mean()
        losses = dict(loss_disc_fake=F.softplus(outputs['disc_pred_fake']).mean(),
                      loss_disc_real=F.softplus(-outputs['disc_pred_real']).mean(),
                      loss_r1_gp=10 * r1)
        return self.parse_losses(losses)

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        # MMagic trains G with -D(G(z)) here, not the paper's softplus(-D(G(z)))
        return self.parse_losses(dict(loss_gen=-outputs['disc_pred_fake_g'].mean()))


__all__ = ['StyleGANv1']
