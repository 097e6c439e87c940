"""The StyleGAN2-based positional_encoding_in_gans configs: each builds MMagic 1.2's exact
checkpoint layout, and an MS-PIE config trains on a folder of images (sizes overridden as a
user would with --cfg-options) at two different scales across its iterations."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genforge.models  # noqa: F401
from genforge.config import Config
from genforge.registry import MODELS
from genforge.runner import Runner
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / 'configs' / 'positional_encoding_in_gans'
REF = ROOT / 'tests' / 'data' / 'state_dicts' / 'mmagic' / 'positional_encoding_in_gans'
CONFIGS = sorted(p for p in FOLDER.glob('*.py') if p.name.startswith(('mspie-', 'stylegan2_')))


def test_every_reference_layout_has_a_config():
    refs = {p.stem for p in REF.glob('*.json') if p.name.startswith(('mspie-', 'stylegan2_'))}
    assert refs == {p.stem for p in CONFIGS}
    assert len(refs) == 13


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_model_layout_matches_mmagic(path):
    ref = json.loads((REF / f'{path.stem}.json').read_text())['keys']
    cfg = Config.fromfile(str(path))
    with torch.device('meta'):  # full-size networks without allocating their weights
        model = MODELS.build(dict(cfg.model), key_path='model')
    mine = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert list(mine) == list(ref)  # same keys, same order
    assert mine == ref


TINY = {'model.generator.out_size': 16, 'model.generator.style_channels': 8,
        'model.generator.num_mlps': 2, 'model.generator.max_channels': 8,
        'model.generator.head_pos_encoding.embedding_dim': 4,
        'model.discriminator.in_size': 16, 'model.discriminator.max_channels': 8,
        'model.train_settings.num_upblocks': 2,
        'model.train_settings.multi_input_scales': [0, 2],
        'model.train_settings.multi_scale_probability': [0.5, 0.5],
        'model.loss_config.r1_interval': 2, 'model.loss_config.g_reg_interval': 2,
        'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False, 'train_cfg.max_iters': 3}


CONFIG_J = FOLDER / 'mspie-stylegan2-config-j_c2_8xb3-1100kiters_ffhq-256-512.py'


def image_folder(path: Path) -> Path:
    path.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):  # bigger than every training size: reals are resized down
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path / f'{i}.png')
    return path


def tiny_cfg(work: Path, data: Path, max_iters: int = 3, seed: int = 2) -> Config:
    cfg = Config.fromfile(str(CONFIG_J))
    cfg.merge_from_dict(dict(TINY, **{'train_dataloader.dataset.data_root': str(data),
                                      'train_cfg.max_iters': max_iters}))
    cfg.work_dir = str(work)
    cfg.val_dataloader = cfg.test_dataloader = None  # FID needs Inception weights
    cfg.val_cfg = cfg.test_cfg = cfg.val_evaluator = cfg.test_evaluator = None
    cfg.custom_hooks = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000, by_epoch=False)
    cfg.randomness = dict(seed=seed)
    return cfg


def record_scales(runner: Runner) -> list[int]:
    scales: list[int] = []
    train_step = runner.model.train_step

    def recording_step(data, optim_wrapper):
        log_vars = train_step(data, optim_wrapper)
        scales.append(int(log_vars['chosen_scale']))
        return log_vars

    runner.model.train_step = recording_step
    return scales


def test_mspie_config_trains_at_several_scales(tmp_path):
    cfg = tiny_cfg(tmp_path / 'work', image_folder(tmp_path / 'imgs'))
    runner = Runner.from_cfg(cfg)
    scales = record_scales(runner)
    runner.train()
    assert runner.iter == 3
    # the seed is fixed, so the draws are too; both scales must have trained
    assert set(scales) == {0, 2}, f'scales drawn: {scales}'
    assert np.isfinite(runner.message_hub.get_scalar('train/loss_disc_real').current())


def test_resume_draws_the_same_scales_and_weights(tmp_path):
    data = image_folder(tmp_path / 'imgs')

    def run(work, max_iters, resume=None):
        cfg = tiny_cfg(tmp_path / work, data, max_iters=max_iters)
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
        if resume:
            cfg.resume, cfg.load_from = True, str(resume)
        runner = Runner.from_cfg(cfg)
        scales = record_scales(runner)
        runner.train()
        return runner, scales

    straight, all_scales = run('straight', 4)
    _, first = run('first', 2)
    resumed, rest = run('resumed', 4, resume=tmp_path / 'first' / 'iter_2.pth')
    assert first + rest == all_scales
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _draw_scales(rank: int, port: int, out: str) -> None:
    """One gloo rank: a different numpy seed per rank, 20 scale draws, saved per rank."""
    import torch.distributed as torch_dist
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    try:
        model = MODELS.build(dict(
            type='MSPIEStyleGAN2', data_preprocessor=dict(type='DataPreprocessor'),
            generator=dict(type='MSStyleGANv2Generator', out_size=16, style_channels=8,
                           num_mlps=2, max_channels=8),
            discriminator=dict(type='MSStyleGAN2Discriminator', in_size=16, max_channels=8,
                               with_adaptive_pool=True),
            train_settings=dict(num_upblocks=2, multi_input_scales=[0, 1, 2, 3])))
        np.random.seed(rank)
        torch.save([model.sample_scale() for _ in range(20)], f'{out}/rank{rank}.pt')
    finally:
        torch_dist.destroy_process_group()


def test_every_rank_trains_at_rank_zeros_scale(tmp_path):
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.start_processes(_draw_scales, args=(port, str(tmp_path)), nprocs=2, start_method='spawn')
    rank0, rank1 = (torch.load(tmp_path / f'rank{r}.pt') for r in (0, 1))

    def draws(seed):
        np.random.seed(seed)
        return [int(np.random.choice(4)) for _ in range(20)]

    assert draws(1) != draws(0)  # rank 1's own draws would differ
    assert rank0 == rank1 == draws(0)
