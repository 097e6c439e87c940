"""`genforge demo --model ddpm`: a tiny run writes the grid, the loss curves and the chain."""
import numpy as np
import pytest
import torch
from PIL import Image

from genforge.cli import main


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Small convs run far faster on one thread than on two busy shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_ddpm_demo_runs_small(tmp_path, capsys):
    work = tmp_path / 'demo_ddpm'
    assert main(['demo', '--model', 'ddpm', '--iters', '2', '--work-dir', str(work),
                 '--fast']) == 0
    assert (work / 'loss_curves.png').is_file() and (work / 'last_checkpoint').is_file()
    grid = np.asarray(Image.open(work / 'final_grid.png'))
    assert grid.shape[:2] == (4 * 18 + 2, 4 * 18 + 2)  # 16 samples of 16x16, padding 2
    chain = np.asarray(Image.open(work / 'denoising_chain.png'))
    assert chain.shape[:2] == (8 * 18 + 2, 10 * 18 + 2)  # 8 chains x 10 frames
    out = capsys.readouterr().out
    assert 'denoising chain' in out and '--steps 50' in out
    assert '% of samples are confidently a digit; digit score ' in out and '(real digits: ' in out


def test_ddpm_demo_prints_its_config(capsys):
    assert main(['demo', '--model', 'ddpm', '--print-config']) == 0
    text = capsys.readouterr().out
    assert "type='BasicGaussianDiffusion'" in text and "type='DenoisingUnet'" in text
