"""genforge.optim: optimizer wrappers, constructors, LARS and parameter schedulers."""
from .amp import channels_last_helps, cpu_has_native_bf16, resolve_amp_dtype  # noqa: F401
from .constructors import (  # noqa: F401
    DefaultOptimWrapperConstructor,
    LearningRateDecayOptimWrapperConstructor,
    MultiOptimWrapperConstructor,
    build_optim_wrapper,
)
from .lars import LARS  # noqa: F401
from .lr_momentum_schedulers import *  # noqa: F401,F403
from .optim_wrapper import AmpOptimWrapper, OptimWrapper, OptimWrapperDict  # noqa: F401
from .schedulers import *  # noqa: F401,F403
