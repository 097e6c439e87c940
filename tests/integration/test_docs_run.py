"""Every bash and python block of README.md and docs/*.md runs as written (tiny sizes).

A block is skipped only when the line before its fence says why:
``<!-- not-runnable: REASON -->`` (a placeholder path, a download, a GPU, a multi-process launch).
``<!-- runnable: file=NAME -->`` before a python block writes the block to NAME (a config file or
a module) instead of executing it.

Python blocks of one page run in order in one namespace (a later block uses what an earlier one
defined). In bash blocks every ``genforge ...`` line runs through the CLI in-process, ``NAME="..."``
lines set a variable that later lines use as ``$NAME``, and a command followed by a comment
``# error: ...`` must fail (exit code != 0); any other command means the block must be marked.

Each page runs in its own folder that holds ``configs/`` (links to the checkout's), ``my_images/``
(8 PNGs, also as ``data/my_images``) and the small data sets the pages name (``data/facades``,
``data/horse2zebra``, ``data/my_pairs``, ``data/singan/fish-crop.png`` / ``.jpg``,
``my_photo.jpg``, ``my_photos/``, ``my_classes/{train,val}/{cat,dog}``). To keep the run short
the test, not the doc, skips validation, caps ``max_iters`` (a value above 8 becomes 2, as does
``iter_N.pth`` in commands and python blocks) and ``max_epochs`` (1, ``epoch_N.pth`` alike),
adds one of them where a train command sets none (by the config's loop), and uses small batches
without workers.
"""
from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import genforge.registry as registry_module
from genforge.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md'))]
FENCE = re.compile(r'^```(\w*)\s*$')
MARK = re.compile(r'<!--\s*(not-runnable|runnable)\s*(?::\s*(.*?))?\s*-->')
RUN_LANGS = {'bash', 'sh', 'shell', 'python', 'py'}
TINY = ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader=None', 'val_cfg=None',
        'val_evaluator=None']
CAP = 8  # max_iters above this becomes 2 (iter_N.pth alike)


class Block:
    def __init__(self, page: Path, line: int, lang: str, code: str, mark: str | None,
                 arg: str | None) -> None:
        self.page, self.line, self.lang, self.code = page, line, lang, code
        self.skip_reason = arg if mark == 'not-runnable' else None
        self.file = arg[5:] if mark == 'runnable' and arg and arg.startswith('file=') else None
        self.skipped = mark == 'not-runnable'

    @property
    def where(self) -> str:
        return f'{self.page.name}:{self.line}'


def page_blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in the languages that run, with the marker before each."""
    lines = page.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == '```'), None)
        assert end is not None, f'{page.name}:{i + 1}: a fence that is never closed'
        lang = fence.group(1)
        if lang in RUN_LANGS:
            mark = MARK.fullmatch(lines[i - 1].strip()) if i else None
            blocks.append(Block(page, i + 1, 'python' if lang.startswith('py') else 'bash',
                                '\n'.join(lines[i + 1:end]) + '\n',
                                mark.group(1) if mark else None, mark.group(2) if mark else None))
        i = end + 1
    return blocks


def _capped(match: re.Match) -> str:
    n = int(match.group(2))
    return f'{match.group(1)}{2 if n > CAP else n}{match.group(3)}'


def _one_epoch(match: re.Match) -> str:
    return f'{match.group(1)}1{match.group(3)}'


def tiny_text(text: str) -> str:
    """Long runs made short: max_iters/iter_N.pth above CAP -> 2, max_epochs/epoch_N.pth -> 1."""
    text = re.sub(r'(max_iters=)(\d+)()', _capped, text)
    text = re.sub(r'(iter_)(\d+)(\.pth)', _capped, text)
    text = re.sub(r'(max_epochs=)(\d+)()', _one_epoch, text)
    return re.sub(r'(epoch_)(\d+)(\.pth)', _one_epoch, text)


def _length_option(config: str) -> str:
    """The option that keeps a train command whose line sets no length short."""
    from genforge.config import Config
    train_cfg = Config.fromfile(config, import_custom_modules=False).get('train_cfg') or {}
    by_epoch = train_cfg.get('by_epoch', 'Epoch' in str(train_cfg.get('type', '')))
    return 'train_cfg.max_epochs=1' if by_epoch else 'train_cfg.max_iters=2'


def tiny_command(line: str) -> list[str]:
    line = tiny_text(line)
    argv = shlex.split(line)[1:]
    if argv and argv[0] == 'train':
        sets_length = 'max_iters=' in line or 'max_epochs=' in line
        extra = TINY + ([] if sets_length else [_length_option(argv[1])])
        if '--cfg-options' in argv:
            at = argv.index('--cfg-options') + 1
            argv[at:at] = extra
        else:
            argv += ['--cfg-options', *extra]
    return argv


def bash_steps(block: Block) -> list[tuple[str, bool]]:
    """(command, must_fail) for each command of a bash block; variables set on the way."""
    lines = block.code.replace('\\\n', ' ').splitlines()
    steps: list[tuple[str, bool]] = []
    for k, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        line = line.split(' #')[0].strip()
        assign = re.fullmatch(r'([A-Za-z_]\w*)=(.*)', line)
        if assign:
            os.environ[assign.group(1)] = ' '.join(' '.join(shlex.split(assign.group(2))).split())
            continue
        assert line.startswith('genforge '), (
            f'{block.where}: {line!r} is not a genforge command; mark the block '
            f'<!-- not-runnable: why --> or change it')
        comment = next((ln.strip() for ln in lines[k + 1:] if ln.strip()), '')
        must_fail = bool(re.match(r'#\s*error:', comment))
        steps.append((os.path.expandvars(line), must_fail))
    return steps


def _images(folder: Path, n: int, size: tuple[int, int], seed: int, ext: str = 'png') -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(folder / f'{i}.{ext}')


def make_workspace(tmp: Path) -> None:
    """The folder a reader has: a checkout's configs and a few images of their own."""
    (tmp / 'configs').mkdir()
    for entry in (ROOT / 'configs').iterdir():  # links, so a doc's configs/mygan/ stays here
        (tmp / 'configs' / entry.name).symlink_to(entry)
    _images(tmp / 'my_images', 8, (40, 48), 0)
    (tmp / 'data').mkdir()
    (tmp / 'data' / 'my_images').symlink_to(tmp / 'my_images')
    for name in ('facades', 'my_pairs'):  # Pix2Pix: A|B side by side
        for split in ('train', 'test'):
            _images(tmp / 'data' / name / split, 2, (32, 64), 1)
    for split in ('trainA', 'trainB', 'testA', 'testB'):
        _images(tmp / 'data' / 'horse2zebra' / split, 2, (32, 32), 2)
    _images(tmp / 'data' / 'singan', 1, (48, 64), 3)
    (tmp / 'data' / 'singan' / '0.png').rename(tmp / 'data' / 'singan' / 'fish-crop.png')
    # the .jpg of MMagic's singan-csg config: big enough for its 10 scales
    _images(tmp / 'data' / 'singan', 1, (260, 300), 5, 'jpg')
    (tmp / 'data' / 'singan' / '0.jpg').rename(tmp / 'data' / 'singan' / 'fish-crop.jpg')
    _images(tmp / 'my_photos', 4, (136, 144), 6)  # super-resolution: HR >= 128 px
    for split in ('train', 'val'):  # classification: class folders
        for k, name in enumerate(('cat', 'dog')):
            _images(tmp / 'my_classes' / split / name, 4, (40, 48), 7 + k)
    _images(tmp, 1, (100, 150), 4, 'jpg')
    (tmp / '0.jpg').rename(tmp / 'my_photo.jpg')


@pytest.fixture
def clean_state(monkeypatch, tmp_path):
    """The classes a page registered, its modules, sys.path and variables are gone afterwards."""
    registries = [r for r in vars(registry_module).values()
                  if isinstance(r, registry_module.Registry)]
    saved = [(r, dict(r.module_dict)) for r in registries]
    modules = set(sys.modules)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ)
    yield
    for reg, table in saved:  # drop what the page registered (genforge's own lazy imports stay)
        for key in set(reg.module_dict) - set(table):
            if not getattr(reg.module_dict[key], '__module__', '').startswith('genforge.'):
                del reg.module_dict[key]
    for name in set(sys.modules) - modules:
        if getattr(sys.modules[name], '__file__', '') and \
                str(tmp_path) in str(sys.modules[name].__file__):
            del sys.modules[name]
    os.environ.clear()
    os.environ.update(env)


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's usage errors
        return exc.code


def run_page(page: Path, tmp: Path) -> None:
    namespace: dict = {'__name__': '__doc__'}
    for block in page_blocks(page):
        if block.skipped:
            continue
        if block.file:
            target = (tmp / block.file).resolve()
            # resolve(): configs/<shipped folder>/... leads into the checkout, which stays as is
            assert target.is_relative_to(tmp.resolve()), \
                f'{block.where}: file={block.file} would write outside the page folder'
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code)
        elif block.lang == 'python':
            code = tiny_text(block.code)
            exec(compile(code, block.where, 'exec'), namespace)  # noqa: S102 - our docs
        else:
            for line, must_fail in bash_steps(block):
                if must_fail:
                    assert _exit_code(tiny_command(line)) != 0, f'{block.where}: {line} should fail'
                else:  # --debug: a failure shows its traceback
                    assert main([*tiny_command(line), '--debug']) == 0, f'{block.where}: {line}'


@pytest.mark.slow  # ~5 minutes for every page on a shared 2-core machine
@pytest.mark.parametrize('page', [p for p in PAGES
                                  if any(not b.skipped for b in page_blocks(p))],
                         ids=lambda p: p.name)
def test_page_blocks_run(page, tmp_path, clean_state):
    make_workspace(tmp_path)
    run_page(page, tmp_path)


def test_every_skipped_block_says_why():
    bare = [b.where for p in PAGES for b in page_blocks(p) if b.skipped and not b.skip_reason]
    assert not bare, f'<!-- not-runnable --> without a reason: {bare}'


def test_markers_are_recognised(tmp_path):
    page = tmp_path / 'p.md'
    page.write_text('<!-- not-runnable: needs a GPU -->\n```bash\ngenforge x\n```\n\n'
                    '<!-- runnable: file=a.py -->\n```python\nx = 1\n```\n'
                    '```python\ny = 2\n```\n```text\nignored\n```\n')
    skip, file_block, run = page_blocks(page)
    assert (skip.skipped, skip.skip_reason) == (True, 'needs a GPU')
    assert (file_block.file, file_block.skipped) == ('a.py', False)
    assert (run.lang, run.code, run.skipped, run.file) == ('python', 'y = 2\n', False, None)


def test_tiny_command_caps_long_runs_only():
    argv = tiny_command('genforge train c.py --cfg-options train_cfg.max_iters=1000 a=1')
    assert argv[:3] == ['train', 'c.py', '--cfg-options'] and 'train_cfg.max_iters=2' in argv
    assert 'train_cfg.max_iters=8' in tiny_command('genforge train c.py --cfg-options '
                                                   'train_cfg.max_iters=8')
    by_iter, by_epoch = ROOT / 'configs/dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py', \
        ROOT / 'configs/resnet/resnet18_8xb16_cifar10.py'
    assert tiny_command(f'genforge train {by_iter}')[-1] == 'train_cfg.max_iters=2'
    assert tiny_command(f'genforge train {by_epoch}')[-1] == 'train_cfg.max_epochs=1'
    assert tiny_command('genforge sample c.py w/iter_5000.pth')[2] == 'w/iter_2.pth'
    assert tiny_text('train_cfg.max_epochs=30 w/epoch_30.pth') == \
        'train_cfg.max_epochs=1 w/epoch_1.pth'


def test_bash_steps_variables_and_expected_errors(monkeypatch):
    monkeypatch.setenv('SMOKE', 'unset')  # restored afterwards
    block = Block(Path('p.md'), 1, 'bash', 'SMOKE="a=1 \\\n  b=2"\ngenforge train x.py $SMOKE\n'
                  '#   loss: 1\ngenforge sample y.py z.pth\n#   error: no such file\n', None, None)
    assert bash_steps(block) == [('genforge train x.py a=1 b=2', False),
                                 ('genforge sample y.py z.pth', True)]
    bad = Block(Path('p.md'), 3, 'bash', 'curl -O http://x\n', None, None)
    with pytest.raises(AssertionError, match='not-runnable'):
        bash_steps(bad)


def test_readme_has_running_blocks():
    assert any(not b.skipped for b in page_blocks(ROOT / 'README.md'))
