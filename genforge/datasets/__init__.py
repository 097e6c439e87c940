"""genforge.datasets: BaseDataset, image datasets, samplers, collate functions and transforms."""
from . import (base_dataset, basic_image_dataset, cifar, collate, custom, digits,
               grow_scale_image_dataset, paired_image_dataset, samplers, singan_dataset,
               transforms)
from .base_dataset import *  # noqa: F401,F403
from .basic_image_dataset import *  # noqa: F401,F403
from .cifar import *  # noqa: F401,F403
from .collate import *  # noqa: F401,F403
from .custom import *  # noqa: F401,F403
from .digits import *  # noqa: F401,F403
from .paired_image_dataset import *  # noqa: F401,F403
from .grow_scale_image_dataset import *  # noqa: F401,F403
from .samplers import *  # noqa: F401,F403
from .singan_dataset import *  # noqa: F401,F403

__all__ = [n for m in (base_dataset, basic_image_dataset, cifar, collate, custom, digits,
                       grow_scale_image_dataset, paired_image_dataset, samplers,
                       singan_dataset)
           for n in m.__all__] + ['transforms']
