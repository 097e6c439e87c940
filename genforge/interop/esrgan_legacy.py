"""Key layouts older than BasicSR's, renamed to BasicSR's names (then read by ``basicsr.py``).

- The original ESRGAN release (``RRDB_ESRGAN_x4.pth`` of 2018 and most community ESRGAN models):
  one ``nn.Sequential`` named ``model``: ``model.0`` first conv, ``model.1.sub.N.RDB1.conv1.0``
  the RRDB trunk (its last entry ``model.1.sub.<num_block>`` the trunk conv), then per x2 step
  nearest upsampling + conv + LeakyReLU (``model.3``, ``model.6``), ``model.8`` HR conv,
  ``model.10`` last conv.
- mmsr / ESRGAN's later release: ``RRDB_trunk.N.RDB1.conv1``, ``trunk_conv``, ``upconv1``,
  ``upconv2``, ``HRconv``; MSRResNet with ``recon_trunk.N`` and ``HRconv``.

The networks compute the same function as BasicSR's RRDBNet / MSRResNet; only names differ.
"""
from __future__ import annotations

import re

import torch

__all__ = ['legacy_to_basicsr']

_SEQ_RDB = re.compile(r'model\.1\.sub\.(\d+)\.RDB([123])\.conv([1-5])\.0\.(weight|bias)$')
_SEQ_CONV = re.compile(r'model\.(\d+)\.(weight|bias)$')


def legacy_to_basicsr(sd: dict[str, torch.Tensor]) -> tuple[str, dict, str] | None:
    """``(arch, state_dict in BasicSR names, layout name)``, or None when ``sd`` is no old layout."""
    if 'model.0.weight' in sd and any(k.startswith('model.1.sub.') for k in sd):
        return 'RRDBNet', _from_sequential(sd), 'ESRGAN (original, model.N)'
    if any(k.startswith('RRDB_trunk.') for k in sd) and 'trunk_conv.weight' in sd:
        if any(k.startswith('upconv3.') for k in sd):
            raise ValueError('ESRGAN weights with upconv3 (x8): genforge reads ESRGAN x4 '
                             '(two upsampling convs, upconv1/upconv2) only')
        names = {'RRDB_trunk.': 'body.', 'trunk_conv.': 'conv_body.', 'upconv1.': 'conv_up1.',
                 'upconv2.': 'conv_up2.', 'HRconv.': 'conv_hr.'}
        out = {}
        for key, value in sd.items():
            for old, new in names.items():
                if key.startswith(old):
                    key = new + key[len(old):]
                    break
            out[re.sub(r'\.RDB([123])\.', r'.rdb\1.', key)] = value
        return 'RRDBNet', out, 'ESRGAN (mmsr, RRDB_trunk)'
    if 'upconv1.weight' in sd and 'HRconv.weight' in sd and \
            any(k.startswith(('recon_trunk.', 'body.')) for k in sd):
        out = {}
        for key, value in sd.items():
            key = 'body.' + key[len('recon_trunk.'):] if key.startswith('recon_trunk.') else key
            out['conv_hr.' + key[len('HRconv.'):] if key.startswith('HRconv.') else key] = value
        return 'MSRResNet', out, 'MSRResNet (mmsr, recon_trunk/HRconv)'
    return None


def _from_sequential(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``model.N`` names -> BasicSR RRDBNet names (``conv_first``, ``body.N.rdb1.conv1`` ...)."""
    blocks = {int(m.group(1)) for m in map(_SEQ_RDB.match, sd) if m}
    num_block = len(blocks)
    if blocks != set(range(num_block)):
        raise ValueError(f'ESRGAN (model.N layout): RRDB blocks model.1.sub.N are not numbered '
                         f'0..{num_block - 1} (found {sorted(blocks)[:8]})')
    out: dict[str, torch.Tensor] = {}
    top: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        m = _SEQ_RDB.match(key)
        if m:
            i, j, k, kind = m.groups()
            out[f'body.{i}.rdb{j}.conv{k}.{kind}'] = value
        elif key.startswith(f'model.1.sub.{num_block}.'):  # the trunk's closing conv
            out['conv_body.' + key.rsplit('.', 1)[1]] = value
        elif (m := _SEQ_CONV.match(key)) is not None:
            top.setdefault(int(m.group(1)), {})[m.group(2)] = value
        else:
            raise ValueError(f'ESRGAN (model.N layout): unexpected key {key!r}')
    # model.0 is the first conv; after the trunk come the upsampling convs, HR conv, last conv.
    convs = sorted(i for i in top if i != 0)
    if 0 not in top or len(convs) != 4:
        raise ValueError(f'ESRGAN (model.N layout): expected model.0 and four convs after the '
                         f'trunk (x4: model.3, model.6, model.8, model.10), found model.'
                         f'{sorted(top)}; genforge reads ESRGAN x4 (two x2 upsamplings) only')
    up = top[convs[0]]['weight']
    if up.shape[0] != up.shape[1]:  # (4*nf, nf): the pixel-shuffle upsampler variant
        raise ValueError(f'ESRGAN (model.N layout): model.{convs[0]} maps {up.shape[1]} to '
                         f'{up.shape[0]} channels (a pixel-shuffle upsampler); genforge reads '
                         f'the nearest-upsampling ESRGAN only')
    for name, index in zip(('conv_first', 'conv_up1', 'conv_up2', 'conv_hr', 'conv_last'),
                           [0, *convs]):
        for kind, value in top[index].items():
            out[f'{name}.{kind}'] = value
    return out
