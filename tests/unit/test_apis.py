"""genforge.apis.init_model: the one builder behind sample / restore / translate."""
import pytest
import torch

from genforge.apis import CheckpointMismatchError, init_model
from genforge.checkpoint import save_checkpoint
from genforge.config import Config
from genforge.registry import MODELS


def _dcgan_cfg(base_channels=8):
    return Config(dict(model=dict(
        type='DCGAN', noise_size=4, data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1,
                       base_channels=base_channels),
        discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                           in_channels=1, out_channels=1, base_channels=4))))


def test_init_model_loads_weights_and_samples_like_the_trained_model(tmp_path):
    torch.manual_seed(0)
    trained = MODELS.build(_dcgan_cfg().model)
    path = tmp_path / 'ckpt.pth'
    save_checkpoint(dict(state_dict=trained.state_dict(), meta={}), str(path))
    model = init_model(_dcgan_cfg(), str(path))
    assert not model.training
    noise = torch.randn(3, 4)
    trained.eval()
    with torch.no_grad():
        expect = trained.generator(noise)
        got = model.generator(noise)
    torch.testing.assert_close(got, expect, rtol=0, atol=0)


def test_init_model_without_discriminator_weights_is_fine(tmp_path):
    trained = MODELS.build(_dcgan_cfg().model)
    state = {k: v for k, v in trained.state_dict().items() if not k.startswith('discriminator')}
    path = tmp_path / 'generator_only.pth'
    save_checkpoint(dict(state_dict=state), str(path))
    model = init_model(_dcgan_cfg(), str(path))
    torch.testing.assert_close(model.generator.state_dict(), trained.generator.state_dict())


def test_init_model_names_the_file_and_a_mismatching_tensor(tmp_path):
    other = MODELS.build(_dcgan_cfg(base_channels=16).model)
    path = tmp_path / 'wider.pth'
    save_checkpoint(dict(state_dict=other.state_dict()), str(path))
    with pytest.raises(CheckpointMismatchError) as info:
        init_model(_dcgan_cfg(), str(path))
    msg = str(info.value)
    assert 'wider.pth' in msg and 'DCGAN' in msg and 'vs config' in msg
    assert '\n' not in msg
