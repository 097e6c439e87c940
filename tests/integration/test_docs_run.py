"""Blocks of README.md and docs/*.md marked ``<!-- runnable -->`` run as written (tiny sizes).

Markers, on the line before a fence:
- ``<!-- runnable: file=NAME -->`` + a python block: the block is written to NAME (a config);
- ``<!-- runnable -->`` + a python block: the block is executed;
- ``<!-- runnable -->`` + a bash block: every ``genforge ...`` line runs through the CLI.
Every block of one page runs in order in one folder that holds ``configs/`` (a link to the
checkout's) and ``my_images/`` (8 PNGs). To keep the run short, the test (not the doc) sets
``max_iters`` to 2, the checkpoint names to ``iter_2.pth`` and small batches.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genforge.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md'))]
MARK = re.compile(r'<!-- runnable(?::\s*file=(\S+))?\s*-->\n```(\w+)\n(.*?)```', re.S)
TINY = ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader=None', 'val_cfg=None',
        'val_evaluator=None']


def runnable_blocks(page: Path) -> list[tuple[str | None, str, str]]:
    return MARK.findall(page.read_text())


def tiny_command(line: str) -> list[str]:
    line = re.sub(r'max_iters=\d+', 'max_iters=2', line)
    line = re.sub(r'iter_\d+\.pth', 'iter_2.pth', line)
    argv = shlex.split(line)[1:]
    if argv[0] == 'train':
        if '--cfg-options' in argv:
            at = argv.index('--cfg-options') + 1
            argv[at:at] = TINY
        else:
            argv += ['--cfg-options', *TINY]
    return argv


def _commands(block: str) -> list[str]:
    text = block.replace('\\\n', ' ')
    return [ln.split(' #')[0].strip() for ln in text.splitlines()
            if ln.strip().startswith('genforge ')]


@pytest.mark.parametrize('page', [p for p in PAGES if runnable_blocks(p)],
                         ids=lambda p: p.name)
def test_runnable_blocks_run(page, tmp_path, monkeypatch):
    (tmp_path / 'configs').symlink_to(ROOT / 'configs')
    imgs = tmp_path / 'my_images'
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(imgs / f'{i}.png')
    monkeypatch.chdir(tmp_path)
    for name, lang, code in runnable_blocks(page):
        if name:
            (tmp_path / name).write_text(code)
        elif lang == 'python':
            exec(compile(code, str(page), 'exec'), {})  # noqa: S102 - our own documentation
        elif lang == 'bash':
            for line in _commands(code):
                assert main(tiny_command(line)) == 0, f'{page.name}: {line}'
        else:
            raise AssertionError(f'{page.name}: runnable block of unknown language {lang!r}')


def test_readme_has_runnable_blocks():
    assert runnable_blocks(ROOT / 'README.md'), 'README.md has no runnable block'
