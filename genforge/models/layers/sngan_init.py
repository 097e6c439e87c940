"""How the SNGAN / SAGAN / BigGAN family initialises its layers (MMagic's ``init_type`` rules)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .spectral_norm import sn_weight

__all__ = ['SNGAN_INIT_TYPES', 'check_sngan_init_type', 'sngan_init']

# init_cfg types of the SNGAN / SAGAN family (upper case), see ``sngan_init``.
SNGAN_INIT_TYPES = ('STUDIO', 'BIGGAN', 'SAGAN', 'SNGAN', 'SNGAN-PROJ', 'GAN-PROJ')


def check_sngan_init_type(init_cfg: dict | None, where: str) -> str:
    init_type = (init_cfg or {}).get('type', 'BigGAN')
    if init_type.upper() not in SNGAN_INIT_TYPES + ('PRETRAINED', 'PRETRAINEDINIT'):
        raise NotImplementedError(f"{where}: init_cfg type={init_type!r} is unknown; use one of "
                                  f"'studio', 'BigGAN', 'SAGAN', 'SNGAN' or 'Pretrained'")
    return init_type


@torch.no_grad()
def sngan_init(root: nn.Module, init_type: str) -> None:
    """Initialise every Conv2d / Linear / Embedding under ``root`` the MMagic SNGAN-family way."""
    kind = init_type.upper()
    if kind in ('PRETRAINED', 'PRETRAINEDINIT'):
        return
    for name, m in root.named_modules():
        if not isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            continue
        weight, bias = sn_weight(m), getattr(m, 'bias', None)
        if kind == 'BIGGAN':  # BigGAN-PyTorch: bias keeps PyTorch's default
            nn.init.xavier_uniform_(weight, gain=1)
            continue
        if isinstance(m, nn.Embedding) and kind != 'STUDIO':
            # the conditional-norm embeddings are told apart by their names
            if 'weight' in name:
                nn.init.constant_(weight, 1)
            if 'bias' in name:
                nn.init.constant_(weight, 0)
            continue
        if kind == 'STUDIO':
            nn.init.orthogonal_(weight)
        elif kind == 'SAGAN' or isinstance(m, nn.Linear) or 'shortcut' in name or 'to_rgb' in name:
            nn.init.xavier_uniform_(weight, gain=1)
        else:  # SNGAN: convs followed by ReLU get gain sqrt(2)
            nn.init.xavier_uniform_(weight, gain=float(np.sqrt(2)))
        if bias is not None:
            nn.init.constant_(bias, 0)
