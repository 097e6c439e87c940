"""Seed 002 (MMEngine's 'Train a GAN' tutorial) with imports moved to genforge.

MNIST is replaced by 20 random 1x28x28 images; everything else is the seed's code.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from genforge.datasets import BaseDataset
from genforge.models import BaseModel, ImgDataPreprocessor
from genforge.models.utils import set_requires_grad
from genforge.optim import OptimWrapper, OptimWrapperDict
from genforge.runner import Runner


class TinyDataset(BaseDataset):
    def __init__(self, pipeline, test_mode=False):
        super().__init__(pipeline=pipeline, test_mode=test_mode)

    @staticmethod
    def totensor(img):
        if len(img.shape) < 3:
            img = np.expand_dims(img, -1)
        img = np.ascontiguousarray(img.transpose(2, 0, 1))
        return torch.from_numpy(img)

    def load_data_list(self):
        rng = np.random.RandomState(0)
        return [dict(inputs=self.totensor(rng.randint(0, 256, (28, 28)).astype(np.uint8)))
                for _ in range(20)]


class Generator(nn.Module):
    def __init__(self, noise_size, img_shape):
        super().__init__()
        self.img_shape = img_shape
        self.noise_size = noise_size

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(*block(noise_size, 32, normalize=False), *block(32, 64),
                                   nn.Linear(64, int(np.prod(img_shape))), nn.Tanh())

    def forward(self, z):
        return self.model(z).view(z.size(0), *self.img_shape)


class Discriminator(nn.Module):
    def __init__(self, img_shape):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(int(np.prod(img_shape)), 32),
                                   nn.LeakyReLU(0.2, inplace=True), nn.Linear(32, 1), nn.Sigmoid())

    def forward(self, img):
        return self.model(img.view(img.size(0), -1))


class GAN(BaseModel):
    def __init__(self, generator, discriminator, noise_size, data_preprocessor):
        super().__init__(data_preprocessor=data_preprocessor)
        assert generator.noise_size == noise_size
        self.generator = generator
        self.discriminator = discriminator
        self.noise_size = noise_size

    def train_step(self, data, optim_wrapper):
        inputs_dict = self.data_preprocessor(data, True)
        disc_optimizer_wrapper = optim_wrapper['discriminator']
        with disc_optimizer_wrapper.optim_context(self.discriminator):
            log_vars = self.train_discriminator(inputs_dict, disc_optimizer_wrapper)
        set_requires_grad(self.discriminator, False)
        gen_optimizer_wrapper = optim_wrapper['generator']
        with gen_optimizer_wrapper.optim_context(self.generator):
            log_vars_gen = self.train_generator(inputs_dict, gen_optimizer_wrapper)
        set_requires_grad(self.discriminator, True)
        log_vars.update(log_vars_gen)
        return log_vars

    def forward(self, batch_inputs, data_samples=None, mode=None):
        return self.generator(batch_inputs)

    def disc_loss(self, disc_pred_fake, disc_pred_real):
        losses_dict = dict()
        losses_dict['loss_disc_fake'] = F.binary_cross_entropy(
            disc_pred_fake, 0. * torch.ones_like(disc_pred_fake))
        losses_dict['loss_disc_real'] = F.binary_cross_entropy(
            disc_pred_real, 1. * torch.ones_like(disc_pred_real))
        return self.parse_losses(losses_dict)

    def gen_loss(self, disc_pred_fake):
        losses_dict = dict()
        losses_dict['loss_gen'] = F.binary_cross_entropy(
            disc_pred_fake, 1. * torch.ones_like(disc_pred_fake))
        return self.parse_losses(losses_dict)

    def train_discriminator(self, inputs, optimizer_wrapper):
        real_imgs = inputs['inputs']
        z = torch.randn((real_imgs.shape[0], self.noise_size)).type_as(real_imgs)
        with torch.no_grad():
            fake_imgs = self.generator(z)
        disc_pred_fake = self.discriminator(fake_imgs)
        disc_pred_real = self.discriminator(real_imgs)
        parsed_losses, log_vars = self.disc_loss(disc_pred_fake, disc_pred_real)
        optimizer_wrapper.update_params(parsed_losses)
        return log_vars

    def train_generator(self, inputs, optimizer_wrapper):
        real_imgs = inputs['inputs']
        z = torch.randn(real_imgs.shape[0], self.noise_size).type_as(real_imgs)
        fake_imgs = self.generator(z)
        disc_pred_fake = self.discriminator(fake_imgs)
        parsed_loss, log_vars = self.gen_loss(disc_pred_fake)
        optimizer_wrapper.update_params(parsed_loss)
        return log_vars


def test_seed002_trains_and_checkpoints(tmp_path):
    torch.manual_seed(0)
    dataset = TinyDataset([])
    train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=True,
                            sampler=dict(type='DefaultSampler', shuffle=True), dataset=dataset)
    train_dataloader = Runner.build_dataloader(train_dataloader)
    assert len(train_dataloader) == 5

    generator = Generator(16, (1, 28, 28))
    discriminator = Discriminator((1, 28, 28))
    data_preprocessor = ImgDataPreprocessor(mean=([127.5]), std=([127.5]))
    model = GAN(generator, discriminator, 16, data_preprocessor)
    opt_g = torch.optim.Adam(generator.parameters(), lr=0.0001, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=0.0001, betas=(0.5, 0.999))
    opt_wrapper_dict = OptimWrapperDict(generator=OptimWrapper(opt_g),
                                        discriminator=OptimWrapper(opt_d))
    g_before = [p.detach().clone() for p in generator.parameters()]

    runner = Runner(model, work_dir=str(tmp_path / 'gan'), train_dataloader=train_dataloader,
                    train_cfg=dict(by_epoch=True, max_epochs=2), optim_wrapper=opt_wrapper_dict,
                    default_hooks=dict(logger=dict(type='LoggerHook', interval=2)))
    runner.train()

    assert runner.iter == 10 and runner.epoch == 2
    # The generator moved (its optimizer stepped every iteration).
    assert any(not torch.equal(a, b) for a, b in zip(g_before, generator.parameters()))
    # Default hooks: CheckpointHook(interval=1) by epoch -> epoch_1.pth, epoch_2.pth.
    work = tmp_path / 'gan'
    assert (work / 'epoch_1.pth').is_file() and (work / 'epoch_2.pth').is_file()
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_2.pth')
    ckpt = torch.load(work / 'epoch_2.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 10
    assert set(ckpt['optimizer']) == {'generator', 'discriminator'}
    for key, value in model.state_dict().items():
        assert torch.equal(ckpt['state_dict'][key], value)
    # Logged losses are finite, one JSON line per logging interval.
    scalars = runner.log_dir + '/vis_data/scalars.json'
    records = [json.loads(line) for line in open(scalars)]
    loss_records = [r for r in records if 'loss_gen' in r]
    assert len(loss_records) == 5 and [r['iter'] for r in loss_records] == [2, 4, 6, 8, 10]
    for r in loss_records:
        for key in ('loss_gen', 'loss_disc_fake', 'loss_disc_real', 'loss'):
            assert np.isfinite(r[key])
    log_text = open(os.path.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert 'Epoch(train) [2][5/5]' in log_text and 'loss_gen' in log_text
