"""SRGAN (Ledig et al., 2017): generator with pixel + perceptual + adversarial losses."""
from __future__ import annotations

import torch

from genforge.models.utils import set_requires_grad
from genforge.registry import MODELS

from .base_edit_model import BaseEditModel

__all__ = ['SRGAN']


def _backward(wrapper, loss: torch.Tensor) -> None:
    # scale_loss divides by the accumulation count when the wrapper accumulates gradients
    if hasattr(wrapper, 'scale_loss'):
        loss = wrapper.scale_loss(loss)
    wrapper.backward(loss)


@MODELS.register_module()
class SRGAN(BaseEditModel):
    """GAN-based super-resolution: one G update, then ``disc_repeat`` D updates per step.

    Needs ``optim_wrapper`` with 'generator' and 'discriminator' entries.

    Args:
        generator (dict), discriminator (dict, optional).
        gan_loss (dict, optional): ``loss_weight`` applies to the generator's term only.
        pixel_loss (dict, optional), perceptual_loss (dict, optional).
        train_cfg (dict, optional): ``disc_steps`` (G runs every n-th step), ``disc_repeat``,
            ``disc_init_steps`` (D-only steps at the start).

    Example: dict(type='SRGAN',
                  generator=dict(type='MSRResNet', in_channels=3, out_channels=3),
                  discriminator=dict(type='ModifiedVGG', in_channels=3, mid_channels=64),
                  pixel_loss=dict(type='L1Loss', loss_weight=1e-2),
                  perceptual_loss=dict(type='PerceptualLoss', layer_weights={'34': 1.0},
                                       style_weight=0, norm_img=False),
                  gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=5e-3))
    """

    def __init__(self, generator: dict, discriminator: dict | None = None,
                 gan_loss: dict | None = None, pixel_loss: dict | None = None,
                 perceptual_loss: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None):
        super().__init__(generator=generator, pixel_loss=pixel_loss, train_cfg=train_cfg,
                         test_cfg=test_cfg, init_cfg=init_cfg,
                         data_preprocessor=data_preprocessor)
        self.discriminator = MODELS.build(discriminator, key_path='model.discriminator') \
            if discriminator else None
        self.gan_loss = MODELS.build(gan_loss, key_path='model.gan_loss') if gan_loss else None
        self.perceptual_loss = MODELS.build(perceptual_loss, key_path='model.perceptual_loss') \
            if perceptual_loss else None
        cfg = train_cfg or {}
        self.disc_steps = cfg.get('disc_steps', 1)
        self.disc_repeat = cfg.get('disc_repeat', 1)
        self.disc_init_steps = cfg.get('disc_init_steps', 0)
        self.register_buffer('step_counter', torch.tensor(0), False)
        if self.discriminator is None or self.gan_loss is None:
            self.disc_repeat = 0  # no adversarial part: plain pixel/perceptual training

    def forward_train(self, inputs: torch.Tensor, data_samples=None, **kwargs) -> torch.Tensor:
        """In GAN training, the 'loss' forward returns the generator output; losses are built
        in ``train_step``."""
        return self.forward_tensor(inputs, data_samples, **kwargs)

    def if_run_g(self) -> bool:
        return bool(self.step_counter % self.disc_steps == 0
                    and self.step_counter >= self.disc_init_steps)

    def if_run_d(self) -> bool:
        return self.discriminator is not None and self.gan_loss is not None

    def g_step(self, batch_outputs: torch.Tensor, batch_gt_data: torch.Tensor) -> dict:
        """Generator losses: 'loss_pix', 'loss_perceptual', 'loss_style', 'loss_gan'."""
        losses = {}
        if self.pixel_loss:
            losses['loss_pix'] = self.pixel_loss(batch_outputs, batch_gt_data)
        if self.perceptual_loss:
            loss_percep, loss_style = self.perceptual_loss(batch_outputs, batch_gt_data)
            if loss_percep is not None:
                losses['loss_perceptual'] = loss_percep
            if loss_style is not None:
                losses['loss_style'] = loss_style
        if self.gan_loss and self.discriminator:
            losses['loss_gan'] = self.g_gan_loss(batch_outputs, batch_gt_data)
        return losses

    def g_gan_loss(self, batch_outputs: torch.Tensor, batch_gt_data: torch.Tensor
                   ) -> torch.Tensor:
        """The generator's adversarial term: its outputs should be scored as real."""
        fake_g_pred = self.discriminator(batch_outputs)
        return self.gan_loss(fake_g_pred, target_is_real=True, is_disc=False)

    def d_step_real(self, batch_outputs: torch.Tensor, batch_gt_data: torch.Tensor
                    ) -> torch.Tensor:
        real_d_pred = self.discriminator(batch_gt_data)
        return self.gan_loss(real_d_pred, target_is_real=True, is_disc=True)

    def d_step_fake(self, batch_outputs: torch.Tensor, batch_gt_data: torch.Tensor
                    ) -> torch.Tensor:
        fake_d_pred = self.discriminator(batch_outputs.detach())
        return self.gan_loss(fake_d_pred, target_is_real=False, is_disc=True)

    def g_step_with_optim(self, batch_outputs: torch.Tensor, batch_gt_data: torch.Tensor,
                          optim_wrapper) -> dict:
        g_wrapper = optim_wrapper['generator']
        with g_wrapper.optim_context(self):
            losses_g = self.g_step(batch_outputs, batch_gt_data)
        parsed, log_vars = self.parse_losses(losses_g)
        g_wrapper.update_params(parsed)
        return log_vars

    def d_step_with_optim(self, batch_outputs: torch.Tensor, batch_gt_data: torch.Tensor,
                          optim_wrapper) -> dict:
        """Real and fake terms are back-propagated separately, then one D update.

        ``d_step_real`` returns the real term, or ``(loss, fake_arg)`` when the fake term needs
        something from the real pass (ESRGAN: the mean real score) instead of the gt batch.
        """
        d_wrapper = optim_wrapper['discriminator']
        log_vars = {}
        with d_wrapper.optim_context(self):
            real_out = self.d_step_real(batch_outputs, batch_gt_data)
        loss_d_real, fake_arg = real_out if isinstance(real_out, tuple) \
            else (real_out, batch_gt_data)
        parsed, log = self.parse_losses(dict(loss_d_real=loss_d_real))
        log_vars.update(log)
        _backward(d_wrapper, parsed)
        with d_wrapper.optim_context(self):
            loss_d_fake = self.d_step_fake(batch_outputs, fake_arg)
        parsed, log = self.parse_losses(dict(loss_d_fake=loss_d_fake))
        log_vars.update(log)
        _backward(d_wrapper, parsed)
        if not hasattr(d_wrapper, 'should_update') or d_wrapper.should_update():
            d_wrapper.step()
            d_wrapper.zero_grad()
        return log_vars

    def train_step(self, data: dict, optim_wrapper) -> dict[str, torch.Tensor]:
        g_wrapper = optim_wrapper['generator']
        data = self.data_preprocessor(data, True)
        batch_gt_data = self.extract_gt_data(data['data_samples'])
        with g_wrapper.optim_context(self):
            batch_outputs = self.forward_train(data['inputs'], data['data_samples'])
        log_vars = {}
        if self.if_run_g():
            set_requires_grad(self.discriminator, False)  # G's loss must not update D
            log_vars.update(self.g_step_with_optim(batch_outputs, batch_gt_data, optim_wrapper))
        if self.if_run_d():
            set_requires_grad(self.discriminator, True)
            for _ in range(self.disc_repeat):
                # detach: D's loss must not reach G
                log_vars.update(self.d_step_with_optim(batch_outputs.detach(), batch_gt_data,
                                                       optim_wrapper))
        log_vars.pop('loss', None)  # per-network totals are logged; a global 'loss' would mislead
        self.step_counter += 1
        return log_vars
