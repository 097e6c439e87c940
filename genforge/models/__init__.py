"""Models: base classes, layers, losses, networks (archs) and algorithms.

Importing this package registers every model type in ``genforge.registry.MODELS``.
"""
from .base_module import BaseModule, ModuleDict, ModuleList, Sequential, initialize  # noqa: F401
from .utils import (constant_init, default_init_weights, make_layer, normal_init,  # noqa: F401
                    set_requires_grad)
from .data_preprocessors import (BaseDataPreprocessor, DataPreprocessor,  # noqa: F401
                                 ImgDataPreprocessor)
from .base_model import BaseModel  # noqa: F401
from .ema import BaseAveragedModel, ExponentialMovingAverage, RampUpEMA  # noqa: F401
from .wrappers import (MMDistributedDataParallel,  # noqa: F401
                       MMSeparateDistributedDataParallel, is_model_wrapper)
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .archs import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .algorithms import *  # noqa: F401,F403
from .batch_augments import *  # noqa: F401,F403
from .data_preprocessors_cls import *  # noqa: F401,F403
