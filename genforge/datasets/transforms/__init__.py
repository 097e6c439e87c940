"""genforge.datasets.transforms: pipeline steps with MMagic / MMPretrain / MMCV names."""
from . import (aug_geometric, auto_augment, crop, formatting, loading, processing,
               random_degradations, wrappers)
from .aug_geometric import *  # noqa: F401,F403
from .auto_augment import *  # noqa: F401,F403
from .base import BaseTransform  # noqa: F401
from .crop import *  # noqa: F401,F403
from .formatting import *  # noqa: F401,F403
from .loading import *  # noqa: F401,F403
from .processing import *  # noqa: F401,F403
from .random_degradations import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403

__all__ = ['BaseTransform'] + [n for m in (aug_geometric, auto_augment, crop, formatting, loading,
                                           processing, random_degradations, wrappers)
                                for n in m.__all__]
