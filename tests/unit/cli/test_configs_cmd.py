"""`genforge configs` lists the shipped configs and copies one; the wheel ships them all."""
from __future__ import annotations

import glob
import tomllib
from pathlib import Path

from genforge.cli import main
from genforge.config import Config

ROOT = Path(__file__).resolve().parents[3]
NAME = 'dcgan_1xb128-5epoches_lsun-bedroom-64x64'


def test_configs_lists_every_shipped_config_and_filters(capsys):
    assert main(['configs']) == 0
    listed = capsys.readouterr().out.split()
    expected = sorted(str(p.relative_to(ROOT / 'configs')) for p in (ROOT / 'configs').rglob('*.py')
                      if '_base_' not in p.parts)
    assert listed == expected
    assert main(['configs', 'srgan']) == 0
    assert capsys.readouterr().out.split() == [p for p in expected if 'srgan' in p]
    assert main(['configs', 'no-such-thing']) == 2


def test_configs_copy_writes_a_config_that_loads_equal(tmp_path, capsys):
    assert main(['configs', 'copy', NAME, str(tmp_path)]) == 0
    out = tmp_path / f'{NAME}.py'
    copied = Config.fromfile(out).to_dict()
    original = Config.fromfile(ROOT / 'configs' / 'dcgan' / f'{NAME}.py').to_dict()
    assert copied == original
    assert main(['configs', 'copy', NAME, str(tmp_path)]) == 2  # never overwrites
    assert 'exists' in capsys.readouterr().err


def test_configs_env_folder_is_used(tmp_path, monkeypatch, capsys):
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'a.py').write_text('x = 1\n')
    monkeypatch.setenv('GENFORGE_CONFIGS', str(tmp_path))
    assert main(['configs']) == 0
    assert capsys.readouterr().out.split() == ['mine/a.py']


def test_wheel_data_files_cover_every_config():
    meta = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    data = meta['tool']['setuptools']['data-files']
    shipped = set()
    for target, patterns in data.items():
        for pattern in patterns:
            for f in glob.glob(str(ROOT / pattern)):
                rel = Path(f).relative_to(ROOT)
                assert target == f'share/genforge/{rel.parent}', (target, rel)
                shipped.add(rel)
    every = {p.relative_to(ROOT) for p in (ROOT / 'configs').rglob('*.py')}
    assert every - shipped == set(), 'add these folders to [tool.setuptools.data-files]'
