"""BaseConditionalGAN: BaseGAN whose generator and discriminator also take class labels."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from genforge.models.layers.latent_sampling import LabelVar, sample_labels
from genforge.structures import DataSample

from .base_gan import BaseGAN, ModelType


class BaseConditionalGAN(BaseGAN):
    """Conditional GAN base: real labels from ``data_samples.gt_label``, sampled labels (uniform
    over ``num_classes``) for generated images; G and D are called with ``label=``.

    Example: dict(type='SNGAN', num_classes=10, noise_size=128,
                  generator=dict(type='SNGANGenerator', output_scale=32, num_classes=10),
                  discriminator=dict(type='ProjDiscriminator', input_scale=32, num_classes=10))
    """

    def __init__(self, generator: ModelType, discriminator: ModelType | None = None,
                 data_preprocessor: dict | nn.Module | None = None, generator_steps: int = 1,
                 discriminator_steps: int = 1, noise_size: int | None = None,
                 num_classes: int | None = None, ema_config: dict | None = None,
                 loss_config: dict | None = None):
        # set before BaseGAN builds the networks: they get num_classes as a default argument
        nn.Module.__setattr__(self, 'num_classes',
                              self._get_valid_num_classes(num_classes, generator, discriminator))
        super().__init__(generator, discriminator, data_preprocessor, generator_steps,
                         discriminator_steps, noise_size, ema_config, loss_config)

    @staticmethod
    def _get_valid_num_classes(num_classes: int | None, generator: ModelType,
                               discriminator: ModelType | None) -> int | None:
        """num_classes from the argument, the generator and the discriminator; all must agree."""
        def of(net):
            if net is None:
                return None
            return net.get('num_classes') if isinstance(net, dict) else getattr(net, 'num_classes',
                                                                                None)
        found = {k: v for k, v in (('model.num_classes', num_classes),
                                   ('model.generator.num_classes', of(generator)),
                                   ('model.discriminator.num_classes', of(discriminator)))
                 if v is not None}
        if len(set(found.values())) > 1:
            raise ValueError(f'Inconsistent num_classes: {found}; make them equal')
        return next(iter(found.values())) if found else None

    def label_fn(self, label: LabelVar = None, num_batches: int = 1) -> Tensor:
        """Labels for ``num_batches`` samples: given, from a sampler, or uniform."""
        labels = sample_labels(label, num_batches, self.num_classes, self.device)
        if labels is None:
            raise ValueError(f"{type(self).__name__}: num_classes is unknown: set "
                             f"model.num_classes (or the generator's) or pass labels")
        return labels

    @staticmethod
    def data_sample_to_label(data_samples: Any) -> Tensor | None:
        """``gt_label`` of a (stacked) DataSample as a (N,) LongTensor, or None."""
        if data_samples is None:
            return None
        if isinstance(data_samples, (list, tuple)):
            if not data_samples:
                return None
            data_samples = DataSample.stack(list(data_samples))
        label = data_samples.get('gt_label')
        if label is None:
            return None
        label = getattr(label, 'label', label)  # MMagic's LabelData wrapper
        if isinstance(label, list):
            label = torch.cat([torch.as_tensor(v).reshape(-1) for v in label])
        return label.reshape(-1).long()

    def forward(self, inputs: Any, data_samples: Any = None,
                mode: str | None = None) -> list[DataSample]:
        """Sample images like ``BaseGAN.forward``; labels come from ``data_samples.gt_label``,
        else ``inputs['label']``, else uniform; each output sample carries its ``gt_label``."""
        noise, sample_kwargs = self._sample_inputs(inputs, data_samples)
        num_batches = noise.shape[0]
        labels = self.data_sample_to_label(data_samples)
        if labels is None:
            given = inputs.get('label') if isinstance(inputs, dict) else None
            labels = self.label_fn(given, num_batches=num_batches)
        labels = labels.to(noise.device)
        sample_model = self._get_valid_model(inputs)
        models = {'ema': getattr(self, 'generator_ema', None), 'orig': self.generator}
        names = ['ema', 'orig'] if sample_model == 'ema/orig' else [sample_model]
        fakes = {name: self._generate(models[name], noise, sample_kwargs, data_samples,
                                      label=labels) for name in names}
        return self._pack_samples(inputs, data_samples, noise, sample_model, sample_kwargs, fakes,
                                  gt_label=labels)

    # -- the one place where conditional GANs add labels to BaseGAN's steps ---------------
    def get_real_labels(self, data_samples: Any) -> Tensor:
        labels = self.data_sample_to_label(data_samples)
        if labels is None:
            raise KeyError(f"{type(self).__name__}: data_samples have no 'gt_label'; a "
                           f'conditional GAN needs a labelled dataset (e.g. CIFAR10, ImageNet) '
                           f'packed with PackInputs')
        return labels.to(self.device)

    def generate(self, num_batches: int, labels: Tensor | None = None
                 ) -> tuple[Tensor, Tensor]:
        """Fakes for uniformly sampled labels (or the given ones)."""
        noise = self.noise_fn(num_batches=num_batches)
        labels = self.label_fn(labels, num_batches=num_batches)
        return self.generator(noise=noise, label=labels, return_noise=False), labels

    def discriminate(self, imgs: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.discriminator(imgs, label=labels)


__all__ = ['BaseConditionalGAN']
