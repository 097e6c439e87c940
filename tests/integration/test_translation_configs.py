"""MMagic's pix2pix / cyclegan configs train on tiny fake data; CycleGAN resumes bit-identically.

The configs are loaded as shipped; only data_root, sizes (256 -> 32 px), channel counts and the
iteration count are shrunk so that a CPU run takes seconds.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genforge.config import Config
from genforge.evaluation.inception import InceptionV3FID
from genforge.runner import Runner

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
P2P = CONFIGS / 'pix2pix' / 'pix2pix_vanilla-unet-bn_1xb1-80kiters_facades.py'
EDGES = CONFIGS / 'pix2pix' / 'pix2pix_vanilla-unet-bn_wo-jitter-flip-1xb4-190kiters_edges2shoes.py'
CYC = CONFIGS / 'cyclegan' / 'cyclegan_lsgan-resnet-in_1xb1-80kiters_facades.py'
SIZES = {(286, 286): (36, 36), (256, 256): (32, 32)}


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny convolutions run several times faster on one thread than on two contended ones."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _fake_data(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for sub in ('train', 'test', 'val'):
        for i in range(3):
            (root / 'paired' / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (40, 80, 3), dtype=np.uint8)).save(
                root / 'paired' / sub / f'{i}.png')
    for sub in ('trainA', 'trainB', 'testA', 'testB'):
        (root / 'unpaired' / sub).mkdir(parents=True, exist_ok=True)
        for i in range(3 if sub.endswith('A') else 2):
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(
                root / 'unpaired' / sub / f'{i}.png')
    return root


def _shrink(obj):
    """256-px pipelines -> 32 px (Resize scales, crop sizes), recursively."""
    if isinstance(obj, dict):
        return {k: (SIZES.get(tuple(v), v) if k in ('scale', 'crop_size')
                    and isinstance(v, (list, tuple)) else _shrink(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shrink(v) for v in obj]
    return obj


def tiny_cfg(path: Path, data_root: Path, work: Path, iters: int = 2, **over) -> Config:
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(work)
    model = cfg.model
    if model.type == 'Pix2Pix':
        model.generator.update(num_down=5, base_channels=4)
    else:
        model.generator.update(num_blocks=1, base_channels=4)
    model.discriminator.update(base_channels=4, num_conv=2)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = _shrink(copy.deepcopy(cfg[name].to_dict()))
        loader.update(num_workers=0, persistent_workers=False, batch_size=2)
        loader['dataset']['data_root'] = str(data_root)
        cfg[name] = loader
    cfg.train_cfg = dict(by_epoch=False, max_iters=iters, val_interval=10 ** 6)
    cfg.randomness = dict(seed=7)
    cfg.env_cfg = dict(cudnn_benchmark=False)
    cfg.model_wrapper_cfg = None
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=min(iters, 3), by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks = [dict(h, n_samples=2) for h in cfg.custom_hooks]
    # Inception weights are a user-provided file; the Inception metrics get their own test
    dom = model.default_domain
    psnr = [dict(type='PSNR', gt_key=f'img_{dom}', pred_key=f'fake_{dom}', prefix='trans')]
    cfg.val_evaluator = dict(metrics=psnr)
    cfg.test_evaluator = dict(metrics=psnr)
    cfg.update(over)
    return cfg


@pytest.mark.parametrize('path,sub', [(P2P, 'paired'), (EDGES, 'paired'), (CYC, 'unpaired')],
                         ids=['pix2pix', 'pix2pix-edges2shoes', 'cyclegan'])
def test_config_trains_two_iterations(tmp_path, path, sub):
    data = _fake_data(tmp_path / 'data') / sub
    runner = Runner.from_cfg(tiny_cfg(path, data, tmp_path / 'work'))
    runner.train()
    assert runner.iter == 2
    ckpt = torch.load(tmp_path / 'work' / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert set(ckpt['optimizer']) == {'generators', 'discriminators'}
    if 'cyclegan' in path.name:
        pools = ckpt['model_train_state']['image_buffers']
        assert pools['photo']['images'].shape == (4, 3, 32, 32)  # 2 iterations x batch 2
    # the Translation / TranslationVal visualisations were written at the end of training
    assert len(list((tmp_path / 'work').rglob('trans_val*.png'))) >= 1


@pytest.mark.slow  # ~15-30 s on a shared 2-core machine: FID's 2048x2048 matrix square root
def test_pix2pix_validates_with_trans_metrics(tmp_path):
    data = _fake_data(tmp_path / 'data') / 'paired'
    inception = tmp_path / 'random_inception.pth'
    torch.manual_seed(0)
    torch.save(InceptionV3FID().state_dict(), inception)  # test-only weights
    metrics = [
        dict(type='TransIS', prefix='IS-Full', fake_nums=3, fake_key='fake_photo', splits=1,
             inception_style='PyTorch', inception_path=str(inception), sample_model='orig'),
        dict(type='TransFID', prefix='FID-Full', fake_nums=3, inception_style='PyTorch',
             inception_path=str(inception), real_key='img_photo', fake_key='fake_photo',
             sample_model='orig'),
        dict(type='PSNR', gt_key='img_photo', pred_key='fake_photo', prefix='trans'),
        dict(type='SSIM', gt_key='img_photo', pred_key='fake_photo', prefix='trans')]
    cfg = tiny_cfg(P2P, data, tmp_path / 'work', iters=1,
                   val_evaluator=dict(metrics=metrics), test_evaluator=dict(metrics=metrics))
    cfg.custom_hooks = []
    res = Runner.from_cfg(cfg).test()  # one FID (a 2048x2048 sqrtm) is the cost; no training
    assert {'IS-Full/is', 'FID-Full/fid', 'trans/PSNR', 'trans/SSIM'} <= set(res)
    assert all(np.isfinite(float(v)) for k, v in res.items() if '/' in k and 'protocol' not in k)
    assert 5 < float(res['trans/PSNR']) < 40


def _train(cfg_kwargs, resume_from=None, drop_pools=False):
    cfg = tiny_cfg(**cfg_kwargs)
    cfg.custom_hooks = []
    cfg.model.buffer_size = 2  # full after one iteration: later ones swap with stored fakes
    if resume_from is not None:
        cfg.resume = True
        cfg.load_from = str(resume_from)
    runner = Runner.from_cfg(cfg)
    if drop_pools:  # negative control: a resume that forgets the pools
        model = runner.model
        model.load_train_state_dict = lambda state: None
    runner.train()
    return torch.load(Path(cfg.work_dir) / f'iter_{cfg.train_cfg["max_iters"]}.pth',
                      map_location='cpu', weights_only=True)


def test_cyclegan_resume_is_bit_identical_and_needs_the_pools(tmp_path):
    data = _fake_data(tmp_path / 'data') / 'unpaired'
    base = dict(path=CYC, data_root=data, iters=6)
    straight = _train(dict(base, work=tmp_path / 'straight'))
    mid = tmp_path / 'straight' / 'iter_3.pth'
    resumed = _train(dict(base, work=tmp_path / 'resumed'), resume_from=mid)
    for key in ('state_dict', 'optimizer', 'model_train_state', 'rng_state'):
        _assert_same(straight[key], resumed[key], key)
    forgot = _train(dict(base, work=tmp_path / 'forgot'), resume_from=mid, drop_pools=True)
    assert any(not torch.equal(v, forgot['state_dict'][k])
               for k, v in straight['state_dict'].items())


def _assert_same(a, b, where):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _assert_same(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f'{where}[{i}]')
    else:
        assert a == b, where
