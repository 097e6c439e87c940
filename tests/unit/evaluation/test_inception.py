"""InceptionV3FID layout == pt_inception-2015-12-05 (pytorch-fid) and weight loading rules."""
import pytest
import torch

from genforge.evaluation.inception import InceptionV3FID, load_inception, quantize_uint8


def _conv(prefix, cin, cout, kh, kw=None):
    kw = kh if kw is None else kw
    bn = {f'{prefix}.bn.{n}': (cout,) for n in ('weight', 'bias', 'running_mean', 'running_var')}
    return {f'{prefix}.conv.weight': (cout, cin, kh, kw), **bn, f'{prefix}.bn.num_batches_tracked': ()}


def _expected_layout():
    """Written from torchvision's Inception3 (num_classes=1008, aux_logits=False), which
    pytorch-fid's fid_inception_v3 patches (FIDInceptionA/C/E change forward only)."""
    e = {}
    for name, cin, cout, k in [('Conv2d_1a_3x3', 3, 32, 3), ('Conv2d_2a_3x3', 32, 32, 3),
                               ('Conv2d_2b_3x3', 32, 64, 3), ('Conv2d_3b_1x1', 64, 80, 1),
                               ('Conv2d_4a_3x3', 80, 192, 3)]:
        e.update(_conv(name, cin, cout, k))
    for name, cin, pool in [('Mixed_5b', 192, 32), ('Mixed_5c', 256, 64), ('Mixed_5d', 288, 64)]:
        for br, i, o, k in [('branch1x1', cin, 64, 1), ('branch5x5_1', cin, 48, 1),
                            ('branch5x5_2', 48, 64, 5), ('branch3x3dbl_1', cin, 64, 1),
                            ('branch3x3dbl_2', 64, 96, 3), ('branch3x3dbl_3', 96, 96, 3),
                            ('branch_pool', cin, pool, 1)]:
            e.update(_conv(f'{name}.{br}', i, o, k))
    for br, i, o, k in [('branch3x3', 288, 384, 3), ('branch3x3dbl_1', 288, 64, 1),
                        ('branch3x3dbl_2', 64, 96, 3), ('branch3x3dbl_3', 96, 96, 3)]:
        e.update(_conv(f'Mixed_6a.{br}', i, o, k))
    for name, c7 in [('Mixed_6b', 128), ('Mixed_6c', 160), ('Mixed_6d', 160), ('Mixed_6e', 192)]:
        for br, i, o, kh, kw in [('branch1x1', 768, 192, 1, 1), ('branch7x7_1', 768, c7, 1, 1),
                                 ('branch7x7_2', c7, c7, 1, 7), ('branch7x7_3', c7, 192, 7, 1),
                                 ('branch7x7dbl_1', 768, c7, 1, 1),
                                 ('branch7x7dbl_2', c7, c7, 7, 1),
                                 ('branch7x7dbl_3', c7, c7, 1, 7),
                                 ('branch7x7dbl_4', c7, c7, 7, 1),
                                 ('branch7x7dbl_5', c7, 192, 1, 7),
                                 ('branch_pool', 768, 192, 1, 1)]:
            e.update(_conv(f'{name}.{br}', i, o, kh, kw))
    for br, i, o, kh, kw in [('branch3x3_1', 768, 192, 1, 1), ('branch3x3_2', 192, 320, 3, 3),
                             ('branch7x7x3_1', 768, 192, 1, 1), ('branch7x7x3_2', 192, 192, 1, 7),
                             ('branch7x7x3_3', 192, 192, 7, 1), ('branch7x7x3_4', 192, 192, 3, 3)]:
        e.update(_conv(f'Mixed_7a.{br}', i, o, kh, kw))
    for name, cin in [('Mixed_7b', 1280), ('Mixed_7c', 2048)]:
        for br, i, o, kh, kw in [('branch1x1', cin, 320, 1, 1), ('branch3x3_1', cin, 384, 1, 1),
                                 ('branch3x3_2a', 384, 384, 1, 3),
                                 ('branch3x3_2b', 384, 384, 3, 1),
                                 ('branch3x3dbl_1', cin, 448, 1, 1),
                                 ('branch3x3dbl_2', 448, 384, 3, 3),
                                 ('branch3x3dbl_3a', 384, 384, 1, 3),
                                 ('branch3x3dbl_3b', 384, 384, 3, 1),
                                 ('branch_pool', cin, 192, 1, 1)]:
            e.update(_conv(f'{name}.{br}', i, o, kh, kw))
    e['fc.weight'], e['fc.bias'] = (1008, 2048), (1008,)
    return e


def test_state_dict_layout_matches_pt_inception_2015():
    got = {k: tuple(v.shape) for k, v in InceptionV3FID().state_dict().items()}
    assert got == _expected_layout()


def test_forward_shapes_and_strict_reload(tmp_path):
    torch.manual_seed(0)
    net = InceptionV3FID().eval()
    path = tmp_path / 'random_inception.pth'
    torch.save(net.state_dict(), path)
    loaded, tag = load_inception('PyTorch', str(path))
    assert tag.startswith('custom-')  # random weights can never pass for 'pt2015'
    x = quantize_uint8(torch.rand(2, 3, 24, 24) * 255)
    with torch.no_grad():
        feats, logits = net(x)
        feats2, _ = loaded(x)
    assert feats.shape == (2, 2048) and logits.shape == (2, 1008)
    torch.testing.assert_close(feats, feats2)
    # the input is resized to 299: a pre-resized copy gives the same features
    pre = torch.nn.functional.interpolate(x, size=(299, 299), mode='bilinear',
                                          align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(net(pre)[0], feats, rtol=1e-4, atol=1e-5)


def test_quantize_rounds_half_up_and_clamps():
    x = torch.tensor([-3.0, 0.49, 0.5, 127.5, 254.6, 300.0])
    assert quantize_uint8(x).tolist() == [0.0, 0.0, 1.0, 128.0, 255.0, 255.0]


def test_missing_weights_error_names_file_checksum_and_fix(tmp_path, monkeypatch):
    monkeypatch.setenv('GENFORGE_CACHE', str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        load_inception('PyTorch')
    msg = str(err.value)
    for part in ('pt_inception-2015-12-05-6726825d.pth', '6726825d', str(tmp_path),
                 'GENFORGE_CACHE', 'inception_path'):
        assert part in msg
    with pytest.raises(FileNotFoundError, match='inception-2015-12-05.pt'):
        load_inception('StyleGAN')
    with pytest.raises(ValueError, match="'PyTorch'"):
        load_inception('TF')


def test_official_name_with_wrong_hash_is_refused(tmp_path):
    path = tmp_path / 'pt_inception-2015-12-05-6726825d.pth'
    torch.save(InceptionV3FID().state_dict(), path)
    with pytest.raises(ValueError, match='6726825d'):
        load_inception('PyTorch', str(path))


def test_stylegan_torchscript_is_loaded_with_jit(tmp_path):
    class Tiny(torch.nn.Module):
        def forward(self, x: torch.Tensor, return_features: bool = False,
                    no_output_bias: bool = False) -> torch.Tensor:
            return x.float().mean(dim=(2, 3))

    path = tmp_path / 'inception-2015-12-05.pt'
    torch.jit.save(torch.jit.script(Tiny()), str(path))
    net, tag = load_inception('StyleGAN', str(path))
    assert tag.startswith('stylegan2015-')
    x = torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8)
    torch.testing.assert_close(net(x, return_features=True), x.float().mean(dim=(2, 3)))
