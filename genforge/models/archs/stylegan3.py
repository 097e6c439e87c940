"""StyleGAN3 (Karras et al., NeurIPS 2021, "Alias-Free GAN") generator: Fourier-feature input,
modulated convs followed by alias-free filtered leaky ReLUs, non-critical sampling. MMagic
1.2's names (``StyleGANv3Generator``, ``SynthesisNetwork``, ``MappingNetwork``) and layout
(``synthesis.L{i}_{size}_{channels}``), pure PyTorch.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.models.layers.bias_act import bias_act
from genforge.models.layers.filtered_lrelu import design_lowpass_filter, filtered_lrelu
from genforge.models.layers.modulated_conv import modulated_conv2d
from genforge.models.utils import get_module_device
from genforge.registry import MODELS

from .stylegan_utils import get_mean_latent, load_pretrained_prefix

__all__ = ['MappingNetwork', 'SynthesisNetwork', 'StyleGAN3Generator']


class FullyConnectedLayer(nn.Module):
    """Equalized-LR linear layer: ``weight`` ~ N(0, weight_init / lr_mul), forward uses
    ``weight * lr_mul / sqrt(in)`` and ``bias * lr_mul``; activation 'linear' | 'lrelu'."""

    def __init__(self, in_features: int, out_features: int, activation: str = 'linear',
                 bias: bool = True, lr_multiplier: float = 1., weight_init: float = 1.,
                 bias_init: float | list = 0.):
        super().__init__()
        self.in_features, self.out_features, self.activation = in_features, out_features, \
            activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features)
                                   * (weight_init / lr_multiplier))
        init = torch.as_tensor(bias_init, dtype=torch.float32).expand(out_features)
        self.bias = nn.Parameter(init / lr_multiplier) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None if self.bias is None else self.bias.to(x.dtype) * self.bias_gain
        return bias_act(x @ w.t(), b, act=self.activation)


@MODELS.register_module()
class MappingNetwork(nn.Module):
    """z (N, noise_size) -> w (N, num_ws, style_channels) with an EMA ``w_avg`` buffer used for
    truncation. Layers ``fc0..fc{num_layers-1}``; optional label ``embed``.

    Example: dict(type='MappingNetwork', noise_size=512, style_channels=512, num_ws=16)
    """

    def __init__(self, noise_size: int, style_channels: int, num_ws: int | None,
                 cond_size: int = 0, num_layers: int = 2, lr_multiplier: float = 0.01,
                 w_avg_beta: float | None = 0.998):
        super().__init__()
        self.noise_size, self.style_channels, self.num_ws = noise_size, style_channels, num_ws
        self.cond_size, self.num_layers, self.w_avg_beta = cond_size or 0, num_layers, w_avg_beta
        if self.cond_size > 0:
            self.embed = FullyConnectedLayer(self.cond_size, style_channels)
        features = [noise_size + (style_channels if self.cond_size > 0 else 0)] + \
            [style_channels] * num_layers
        for idx in range(num_layers):
            setattr(self, f'fc{idx}', FullyConnectedLayer(
                features[idx], features[idx + 1], activation='lrelu',
                lr_multiplier=lr_multiplier))
        if w_avg_beta is not None:
            self.register_buffer('w_avg', torch.zeros(style_channels))

    def forward(self, z: Tensor | None, label: Tensor | None = None, truncation: float = 1,
                num_truncation_layer: int | None = None, update_emas: bool = False) -> Tensor:
        parts = []
        if self.noise_size > 0:
            x = z.float()
            parts.append(x * (x.square().mean(1, keepdim=True) + 1e-8).rsqrt())
        if self.cond_size > 0:
            if label is None or label.ndim != 2 or label.shape[1] != self.cond_size:
                got = None if label is None else tuple(label.shape)
                raise ValueError(f'MappingNetwork: cond_size={self.cond_size} needs a label of '
                                 f'shape (N, {self.cond_size}) (one-hot for class labels), got '
                                 f'{got}')
            y = self.embed(label.float())
            parts.append(y * (y.square().mean(1, keepdim=True) + 1e-8).rsqrt())
        x = torch.cat(parts, dim=1)
        for idx in range(self.num_layers):
            x = getattr(self, f'fc{idx}')(x)
        if update_emas and self.w_avg_beta is not None:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation != 1:
            if not hasattr(self, 'w_avg'):
                raise ValueError('MappingNetwork: truncation needs w_avg (w_avg_beta is None)')
            n = self.num_ws if num_truncation_layer is None else num_truncation_layer
            x = torch.cat([self.w_avg.lerp(x[:, :n], truncation), x[:, n:]], dim=1)
        return x


class SynthesisInput(nn.Module):
    """Fourier features on a ``size``-pixel grid, rotated/translated per sample by an affine
    of w (initialised to the identity transform). Buffers ``transform``, ``freqs``,
    ``phases``."""

    def __init__(self, style_channels: int, channels: int, size: int, sampling_rate: float,
                 bandwidth: float):
        super().__init__()
        self.channels, self.size = channels, int(size)
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        # frequencies uniform in a disc of radius `bandwidth`, random phases
        freqs = torch.randn(channels, 2)
        radii = freqs.square().sum(1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.affine = FullyConnectedLayer(style_channels, 4, weight_init=0,
                                          bias_init=[1, 0, 0, 0])
        self.register_buffer('transform', torch.eye(3))  # user transform (inverse)
        self.register_buffer('freqs', freqs)
        self.register_buffer('phases', torch.rand(channels) - 0.5)

    def forward(self, w: Tensor) -> Tensor:
        n = w.shape[0]
        t = self.affine(w)  # (r_cos, r_sin, t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        eye = torch.eye(3, device=w.device).repeat(n, 1, 1)
        m_r, m_t = eye.clone(), eye.clone()
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], \
            t[:, 0]
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = m_r @ m_t @ self.transform[None]
        phases = self.phases[None] + (self.freqs[None] @ transforms[:, :2, 2:]).squeeze(2)
        freqs = self.freqs[None] @ transforms[:, :2, :2]  # (N, C, 2)
        # fade out frequencies that a user transform pushes beyond the band limit
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth)
                      / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grid = F.affine_grid(theta[None], [1, 1, self.size, self.size], align_corners=False)
        # (1, H, W, 2) x (N, 2, C) -> (N, H, W, C)
        x = torch.einsum('hwk,nck->nhwc', grid[0], freqs) + phases[:, None, None]
        x = torch.sin(x * (2 * math.pi)) * amplitudes[:, None, None]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(nn.Module):
    """Modulated conv -> filtered leaky ReLU (up ``up_factor``, down ``down_factor``).

    Buffers ``magnitude_ema`` (input normalisation), ``up_filter``, ``down_filter`` (1-D, or 2-D
    radial for StyleGAN3-R's non-critical layers); absent when a filter has a single tap.
    """

    def __init__(self, style_channels: int, is_torgb: bool, is_critically_sampled: bool,
                 use_fp16: bool, in_channels: int, out_channels: int, in_size: int,
                 out_size: int, in_sampling_rate: int, out_sampling_rate: int,
                 in_cutoff: float, out_cutoff: float, in_half_width: float,
                 out_half_width: float, conv_kernel: int = 3, filter_size: int = 6,
                 lrelu_upsampling: int = 2, use_radial_filters: bool = False,
                 conv_clamp: float = 256, magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.is_torgb, self.use_fp16 = is_torgb, use_fp16
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size, self.out_size = in_size, out_size
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta
        tmp_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else
                                                               lrelu_upsampling)
        self.affine = FullyConnectedLayer(style_channels, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, self.conv_kernel,
                                               self.conv_kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer('magnitude_ema', torch.ones([]))
        self.up_factor = int(round(tmp_rate / in_sampling_rate))
        self.down_factor = int(round(tmp_rate / out_sampling_rate))
        up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb \
            else 1
        self.register_buffer('up_filter', design_lowpass_filter(
            up_taps, in_cutoff, in_half_width * 2, tmp_rate))
        self.register_buffer('down_filter', design_lowpass_filter(
            down_taps, out_cutoff, out_half_width * 2, tmp_rate,
            radial=use_radial_filters and not is_critically_sampled))
        # padding so that the output has exactly out_size pixels
        pad_total = (out_size - 1) * self.down_factor + 1
        pad_total -= (in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += up_taps + down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        self.padding = [pad_lo, pad_total - pad_lo, pad_lo, pad_total - pad_lo]

    def forward(self, x: Tensor, w: Tensor, force_fp32: bool = False,
                update_emas: bool = False) -> Tensor:
        if update_emas:
            with torch.no_grad():
                self.magnitude_ema.copy_(x.detach().float().square().mean().lerp(
                    self.magnitude_ema, self.magnitude_ema_beta))
        input_gain = self.magnitude_ema.rsqrt()
        styles = self.affine(w)
        weight = self.weight
        if self.is_torgb:
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel ** 2)
        else:  # pre-normalise (the demodulation cancels these scales; it keeps fp16 in range)
            weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean().rsqrt()
        x = modulated_conv2d(x, weight, styles, demodulate=not self.is_torgb,
                             padding=self.conv_kernel - 1) * input_gain
        return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias,
                              up=self.up_factor, down=self.down_factor, padding=self.padding,
                              gain=1 if self.is_torgb else math.sqrt(2),
                              slope=1 if self.is_torgb else 0.2, clamp=self.conv_clamp)


@MODELS.register_module()
class SynthesisNetwork(nn.Module):
    """w (N, num_ws, C) -> image (N, img_channels, out_size, out_size): Fourier input and
    ``num_layers + 1`` synthesis layers whose cutoffs grow geometrically (MMagic's args).

    Example: dict(type='SynthesisNetwork', style_channels=512, out_size=256, img_channels=3)
    """

    def __init__(self, style_channels: int, out_size: int, img_channels: int,
                 channel_base: int = 32768, channel_max: int = 512, num_layers: int = 14,
                 num_critical: int = 2, first_cutoff: float = 2, first_stopband: float = 2 ** 2.1,
                 last_stopband_rel: float = 2 ** 0.3, margin_size: int = 10,
                 output_scale: float = 0.25, num_fp16_res: int = 4, **layer_kwargs):
        super().__init__()
        self.style_channels, self.out_size, self.img_channels = style_channels, out_size, \
            img_channels
        self.num_ws, self.num_layers, self.output_scale = num_layers + 2, num_layers, \
            output_scale
        last_cutoff = out_size / 2
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
        stopbands = first_stopband * (last_cutoff * last_stopband_rel / first_stopband) \
            ** exponents
        rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, out_size))))
        half_widths = np.maximum(stopbands, rates / 2) - cutoffs
        sizes = rates + margin_size * 2
        sizes[-2:] = out_size
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels
        self.input = SynthesisInput(style_channels, int(channels[0]), int(sizes[0]),
                                    rates[0], cutoffs[0])
        self.layer_names = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                style_channels, is_torgb=idx == num_layers,
                is_critically_sampled=idx >= num_layers - num_critical,
                use_fp16=bool(rates[idx] * 2 ** num_fp16_res > out_size),
                in_channels=int(channels[prev]), out_channels=int(channels[idx]),
                in_size=int(sizes[prev]), out_size=int(sizes[idx]),
                in_sampling_rate=int(rates[prev]), out_sampling_rate=int(rates[idx]),
                in_cutoff=cutoffs[prev], out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev], out_half_width=half_widths[idx],
                **layer_kwargs)
            name = f'L{idx}_{layer.out_size}_{layer.out_channels}'
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: Tensor, **layer_kwargs) -> Tensor:
        ws = ws.float().unbind(dim=1)
        x = self.input(ws[0])
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w, **layer_kwargs)
        return (x * self.output_scale).float()


@MODELS.register_module('StyleGANv3Generator')
@MODELS.register_module()
class StyleGAN3Generator(nn.Module):
    """StyleGAN3 generator = ``synthesis`` (SynthesisNetwork) + ``style_mapping``
    (MappingNetwork). T config: defaults; R config: ``synthesis_cfg=dict(type=
    'SynthesisNetwork', channel_base=65536, channel_max=1024, conv_kernel=1,
    use_radial_filters=True)``.

    Output: (N, img_channels, out_size, out_size) or a dict with ``fake_img``, ``latent``
    (N, num_ws, style_channels), ``noise_batch``.

    Example: dict(type='StyleGANv3Generator', out_size=256, style_channels=512,
                  img_channels=3, noise_size=512)
    """

    def __init__(self, out_size: int, style_channels: int, img_channels: int,
                 noise_size: int = 512, rgb2bgr: bool = False, pretrained: dict | None = None,
                 synthesis_cfg: dict | None = None, mapping_cfg: dict | None = None):
        super().__init__()
        self.noise_size, self.style_channels = noise_size, style_channels
        self.out_size, self.img_channels, self.rgb2bgr = out_size, img_channels, rgb2bgr
        syn = copy.deepcopy(synthesis_cfg or dict(type='SynthesisNetwork'))
        for key, value in (('style_channels', style_channels), ('out_size', out_size),
                           ('img_channels', img_channels)):
            syn.setdefault(key, value)
        self.synthesis = MODELS.build(syn, key_path='model.generator.synthesis_cfg')
        self.num_ws = self.synthesis.num_ws
        mapping = copy.deepcopy(mapping_cfg or dict(type='MappingNetwork'))
        for key, value in (('noise_size', noise_size), ('style_channels', style_channels),
                           ('num_ws', self.num_ws)):
            mapping.setdefault(key, value)
        self.style_mapping = MODELS.build(mapping, key_path='model.generator.mapping_cfg')
        if pretrained is not None:
            load_pretrained_prefix(self, **pretrained)

    def forward(self, noise, num_batches: int = 0, input_is_latent: bool = False,
                truncation: float = 1, num_truncation_layer: int | None = None,
                update_emas: bool = False, force_fp32: bool = True, return_noise: bool = False,
                return_latents: bool = False, label: Tensor | None = None) -> Tensor | dict:
        """Images (N, img_channels, out_size, out_size) from z (or w with ``input_is_latent``);
        ``label`` (N, cond_size) when ``mapping_cfg`` has a ``cond_size`` (NVlabs' c)."""
        width = self.style_channels if input_is_latent else self.noise_size
        if isinstance(noise, Tensor):
            if noise.ndim != 2 or noise.shape[1] != width:
                kind = 'w latent (input_is_latent=True)' if input_is_latent else 'noise z'
                raise ValueError(f'StyleGANv3Generator: the {kind} must have shape (N, {width}), '
                                 f'got {tuple(noise.shape)}')
            noise_batch = noise
        else:
            if num_batches <= 0:
                raise ValueError('num_batches must be > 0 when noise is a sampler or None')
            noise_batch = noise((num_batches, width)) if callable(noise) else \
                torch.randn(num_batches, width)
        noise_batch = noise_batch.to(get_module_device(self))
        if input_is_latent:
            ws = noise_batch.unsqueeze(1).repeat(1, self.num_ws, 1)
        else:
            if label is not None:
                label = label.to(noise_batch.device)
            ws = self.style_mapping(noise_batch, label, truncation=truncation,
                                    num_truncation_layer=num_truncation_layer,
                                    update_emas=update_emas)
        img = self.synthesis(ws, update_emas=update_emas, force_fp32=force_fp32)
        if self.rgb2bgr:
            img = img[:, [2, 1, 0]]
        if return_noise or return_latents:
            return dict(fake_img=img, noise_batch=noise_batch, latent=ws)
        return img

    def get_mean_latent(self, num_samples: int = 4096, **kwargs) -> Tensor:
        if hasattr(self.style_mapping, 'w_avg'):
            return self.style_mapping.w_avg
        return get_mean_latent(self, num_samples, **kwargs)

    def get_training_kwargs(self, phase: str) -> dict:
        """D phase updates the magnitude / w EMAs (as MMagic); fp16 only where enabled."""
        if phase == 'disc':
            return dict(update_emas=True, force_fp32=False)
        if phase == 'gen':
            return dict(force_fp32=False)
        return {}
