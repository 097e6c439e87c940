"""BaseEditModel / SRGAN / ESRGAN: 2 training iterations on tiny paired images, predict output,
loss values against direct computation, and seed 001's own SRCNN/MSRResNet code."""
import copy
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401
from genforge.optim import OptimWrapper, OptimWrapperDict
from genforge.registry import MODELS
from genforge.structures import DataSample

ROOT = Path(__file__).resolve().parents[4]
PRE = dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.])


def _batch(scale, lr_size=8, n=2, seed=0):
    """Collated PackInputs output: uint8-valued CHW inputs + DataSamples holding gt_img."""
    g = torch.Generator().manual_seed(seed)
    gt = torch.randint(0, 256, (n, 3, lr_size * scale, lr_size * scale), generator=g).float()
    lq = F.avg_pool2d(gt, scale).round()
    return dict(inputs=list(lq), data_samples=[DataSample(gt_img=t) for t in gt])


GENERATORS = {
    'SRCNNNet': dict(type='SRCNNNet', channels=(3, 4, 4, 3), kernel_sizes=(9, 1, 5)),
    'MSRResNet': dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4,
                      num_blocks=1),
    'EDSRNet': dict(type='EDSRNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=1),
    'RRDBNet': dict(type='RRDBNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=1,
                    growth_channels=2),
    'RDNNet': dict(type='RDNNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=2,
                   num_layers=2, channel_growth=2),
}


@pytest.mark.parametrize('name', sorted(GENERATORS))
@pytest.mark.parametrize('scale', [2, 4])
def test_base_edit_model_trains_and_predicts(name, scale):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='BaseEditModel',
                              generator=dict(GENERATORS[name], upscale_factor=scale),
                              pixel_loss=dict(type='L1Loss', loss_weight=1.0),
                              data_preprocessor=PRE))
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    batch = _batch(scale)
    lq = torch.stack(batch['inputs']) / 255.
    gt = torch.stack([s.gt_img for s in batch['data_samples']]) / 255.
    with torch.no_grad():
        expected = (model.generator(lq) - gt).abs().mean()
    before = copy.deepcopy(model.generator.state_dict())
    logs = [model.train_step(copy.deepcopy(batch), optim) for _ in range(2)]
    assert torch.isclose(logs[0]['loss'], expected, rtol=1e-5)
    assert all(torch.isfinite(log['loss']) for log in logs)
    changed = [k for k, v in model.generator.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, 'two Adam steps must change the generator'

    preds = model.val_step(copy.deepcopy(batch))
    assert len(preds) == 2 and isinstance(preds[0], DataSample)
    with torch.no_grad():
        ref = (model.generator(lq) * 255.).clamp(0, 255)
    for i, p in enumerate(preds):
        assert p.pred_img.shape == (3, 8 * scale, 8 * scale)
        assert torch.allclose(p.pred_img, ref[i], atol=1e-3)
        assert torch.equal(p.output.pred_img, p.pred_img)
        assert torch.equal(p.gt_img, batch['data_samples'][i].gt_img)  # gt untouched in [0, 255]
        assert torch.allclose(p.input, batch['inputs'][i])
    assert model(lq, mode='tensor').shape == (2, 3, 8 * scale, 8 * scale)


def test_forward_unknown_mode_and_missing_gt():
    model = MODELS.build(dict(type='BaseEditModel', generator=GENERATORS['SRCNNNet'],
                              pixel_loss=dict(type='L1Loss'), data_preprocessor=PRE))
    with pytest.raises(ValueError, match="mode='train'"):
        model(torch.rand(1, 3, 4, 4), mode='train')
    with pytest.raises(KeyError, match='gt_img'):
        model(torch.rand(1, 3, 4, 4), DataSample(), mode='loss')


def _gan_model(kind, **train_cfg):
    return MODELS.build(dict(
        type=kind,
        generator=dict(GENERATORS['MSRResNet' if kind == 'SRGAN' else 'RRDBNet'],
                       upscale_factor=4),
        discriminator=dict(type='ModifiedVGG', in_channels=3, mid_channels=2),
        pixel_loss=dict(type='L1Loss', loss_weight=1e-2),
        perceptual_loss=dict(type='PerceptualLoss', layer_weights={'0': 1.0}, vgg_type='vgg19',
                             perceptual_weight=1.0, style_weight=0, norm_img=False,
                             pretrained=None),
        gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=5e-3, real_label_val=1.0,
                      fake_label_val=0),
        train_cfg=train_cfg, test_cfg=dict(), data_preprocessor=PRE))


def _wrappers(model):
    return OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-4)),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), lr=1e-4)))


@pytest.mark.parametrize('kind', ['SRGAN', 'ESRGAN'])
def test_gan_sr_trains_two_iterations(kind):
    torch.manual_seed(0)
    model = _gan_model(kind)
    wrappers = _wrappers(model)
    batch = _batch(4, lr_size=32)  # ModifiedVGG needs 128x128 GT patches
    g0 = copy.deepcopy(model.generator.state_dict())
    d0 = copy.deepcopy(model.discriminator.state_dict())
    vgg0 = copy.deepcopy(model.perceptual_loss.state_dict())
    for _ in range(2):
        logs = model.train_step(copy.deepcopy(batch), wrappers)
    assert {'loss_pix', 'loss_perceptual', 'loss_gan', 'loss_d_real', 'loss_d_fake'} <= set(logs)
    assert all(torch.isfinite(v) for v in logs.values())
    assert int(model.step_counter) == 2
    assert any(not torch.equal(v, g0[k]) for k, v in model.generator.state_dict().items())
    assert any(not torch.equal(v, d0[k]) for k, v in model.discriminator.state_dict().items()
               if v.is_floating_point())
    assert all(torch.equal(v, vgg0[k]) for k, v in model.perceptual_loss.state_dict().items())
    preds = model.val_step(copy.deepcopy(batch))
    assert preds[0].pred_img.shape == (3, 128, 128)


def test_disc_init_steps_skip_generator():
    torch.manual_seed(0)
    model = _gan_model('SRGAN', disc_init_steps=1)
    wrappers = _wrappers(model)
    g0 = copy.deepcopy(model.generator.state_dict())
    logs = model.train_step(_batch(4, lr_size=32), wrappers)
    assert 'loss_pix' not in logs and 'loss_d_real' in logs
    assert all(torch.equal(v, g0[k]) for k, v in model.generator.state_dict().items())


def test_esrgan_relativistic_generator_loss():
    torch.manual_seed(0)
    model = _gan_model('ESRGAN').eval()  # eval: BN uses running stats, both passes identical
    out, gt = torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128)
    losses = model.g_step(out, gt)
    with torch.no_grad():
        real, fake = model.discriminator(gt), model.discriminator(out)
    bce = F.binary_cross_entropy_with_logits
    expected = 5e-3 * (bce(fake - real.mean(), torch.ones_like(fake)) +
                       bce(real - fake.mean(), torch.zeros_like(real))) / 2
    assert torch.isclose(losses['loss_gan'], expected, rtol=1e-5)
    assert torch.isclose(losses['loss_pix'], 1e-2 * (out - gt).abs().mean(), rtol=1e-5)
    srgan = _gan_model('SRGAN').eval()
    with torch.no_grad():
        fake_s = srgan.discriminator(out)
    assert torch.isclose(srgan.g_step(out, gt)['loss_gan'],
                         5e-3 * bce(fake_s, torch.ones_like(fake_s)), rtol=1e-5)


# -- seed 001: the user's own SRCNN/MSRResNet + BaseEditModel code, imports moved to genforge ---
SEED_CODE = '''
import torch
import torch.nn as nn
from typing import List, Optional
from genforge.models import BaseModule, BaseModel
from genforge.registry import MODELS
from genforge.structures import DataSample
from genforge.models.utils import (PixelShufflePack, ResidualBlockNoBN,
                                   default_init_weights, make_layer)


@MODELS.register_module()
class MSRResNet(BaseModule):
    _supported_upscale_factors = [2, 3, 4]

    def __init__(self, in_channels, out_channels, mid_channels=64, num_blocks=16,
                 upscale_factor=4):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        self.num_blocks = num_blocks
        self.upscale_factor = upscale_factor
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, 1, 1, bias=True)
        self.trunk_net = make_layer(ResidualBlockNoBN, num_blocks, mid_channels=mid_channels)
        if self.upscale_factor in [2, 3]:
            self.upsample1 = PixelShufflePack(mid_channels, mid_channels, self.upscale_factor,
                                              upsample_kernel=3)
        elif self.upscale_factor == 4:
            self.upsample1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
            self.upsample2 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        else:
            raise ValueError(f'Unsupported scale factor {self.upscale_factor}. ')
        self.conv_hr = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1, bias=True)
        self.img_upsampler = nn.Upsample(scale_factor=self.upscale_factor, mode='bilinear',
                                         align_corners=False)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        self.init_weights()

    def init_weights(self):
        for m in [self.conv_first, self.conv_hr, self.conv_last]:
            default_init_weights(m, 0.1)

    def forward(self, x):
        feat = self.lrelu(self.conv_first(x))
        out = self.trunk_net(feat)
        if self.upscale_factor in [2, 3]:
            out = self.upsample1(out)
        elif self.upscale_factor == 4:
            out = self.upsample1(out)
            out = self.upsample2(out)
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        upsampled_img = self.img_upsampler(x)
        out += upsampled_img
        return out


@MODELS.register_module()
class BaseEditModel(BaseModel):
    def __init__(self, generator, pixel_loss, train_cfg=None, test_cfg=None, init_cfg=None,
                 data_preprocessor=None):
        super().__init__(init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.generator = MODELS.build(generator)
        self.pixel_loss = MODELS.build(pixel_loss)

    def forward(self, batch_inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None, mode: str = 'tensor',
                **kwargs):
        if mode == 'tensor':
            return self.forward_tensor(batch_inputs, data_samples, **kwargs)
        elif mode == 'predict':
            return self.forward_inference(batch_inputs, data_samples, **kwargs)
        elif mode == 'loss':
            return self.forward_train(batch_inputs, data_samples, **kwargs)

    def forward_tensor(self, batch_inputs, data_samples=None, **kwargs):
        feats = self.generator(batch_inputs, **kwargs)
        return feats

    def forward_inference(self, batch_inputs, data_samples=None, **kwargs):
        feats = self.forward_tensor(batch_inputs, data_samples, **kwargs)
        feats = self.data_preprocessor.destructor(feats)
        predictions = []
        for idx in range(feats.shape[0]):
            predictions.append(
                DataSample(
                    pred_img=feats[idx].to('cpu'),
                    metainfo=data_samples[idx].metainfo))
        return predictions

    def forward_train(self, batch_inputs, data_samples=None, **kwargs):
        feats = self.forward_tensor(batch_inputs, data_samples, **kwargs)
        gt_imgs = [data_sample.gt_img.data for data_sample in data_samples]
        batch_gt_data = torch.stack(gt_imgs)
        loss = self.pixel_loss(feats, batch_gt_data)
        return dict(loss=loss)
'''


@pytest.fixture
def seed_registry(monkeypatch):
    """A user's project registering its own MSRResNet/BaseEditModel: give the seed code the
    names (ours are restored after the test)."""
    from genforge.registry import MODELS as REG
    table = {k: v for k, v in REG.module_dict.items() if k not in ('MSRResNet', 'BaseEditModel')}
    monkeypatch.setattr(REG, '_module_dict', table)
    namespace = {}
    exec(compile(SEED_CODE, 'seed_001.py', 'exec'), namespace)
    return namespace


@pytest.mark.parametrize('generator', [
    dict(type='SRCNNNet', channels=(3, 8, 4, 3), kernel_sizes=(9, 1, 5), upscale_factor=4),
    dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=1,
         upscale_factor=4)])
def test_seed_001_code_registers_trains_and_predicts(seed_registry, generator):
    torch.manual_seed(0)
    # the seed's config (scale = 4), with a tiny generator
    model = MODELS.build(dict(
        type='BaseEditModel', generator=generator,
        pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
        data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.],
                               std=[255., 255., 255.])))
    assert type(model) is seed_registry['BaseEditModel']
    if generator['type'] == 'MSRResNet':
        assert type(model.generator) is seed_registry['MSRResNet']
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    batch = _batch(4)
    losses = [model.train_step(copy.deepcopy(batch), optim)['loss'] for _ in range(2)]
    assert all(torch.isfinite(v) for v in losses)
    preds = model.val_step(copy.deepcopy(batch))
    assert [type(p) for p in preds] == [DataSample, DataSample]
    assert preds[0].pred_img.shape == (3, 32, 32)
    assert 0 <= preds[0].pred_img.min() and preds[0].pred_img.max() <= 255


# -- the shipped configs reproduce MMagic's checkpoint layouts ------------------------------------
REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic'
REF_JSONS = sorted(p for d in ('srcnn', 'srgan_resnet', 'edsr', 'esrgan', 'rdn')
                   for p in (REF / d).glob('*.json')) if REF.is_dir() else []


@pytest.mark.parametrize('ref', REF_JSONS, ids=[p.stem for p in REF_JSONS])
def test_config_model_state_dict_matches_mmagic(ref):
    from genforge.config import Config
    from genforge.config.config_dict import to_plain
    info = json.loads(ref.read_text())
    cfg = Config.fromfile(str(ROOT / 'configs' / info['config']))
    model_cfg = to_plain(cfg.model)
    assert model_cfg['type'] == info['model_type']
    if model_cfg.get('perceptual_loss'):  # no VGG file needed; the JSONs leave the VGG out
        model_cfg['perceptual_loss']['pretrained'] = None
    model_cfg['generator'].pop('init_cfg', None)
    with torch.device('meta'):  # shapes only: no memory, no init cost
        model = MODELS.build(model_cfg)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()
            if not k.startswith('perceptual_loss.')}
    assert ours == info['keys']
