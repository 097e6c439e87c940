"""genforge.models.layers: one file per family; each module lists its names in __all__."""
from .layer_builders import *  # noqa: F401,F403
from .conv_module import *  # noqa: F401,F403
from .linear_module import *  # noqa: F401,F403
from .upsample import *  # noqa: F401,F403
from .sr_blocks import *  # noqa: F401,F403
from .spectral_norm import *  # noqa: F401,F403
from .self_attention import *  # noqa: F401,F403
from .conditional_bn import *  # noqa: F401,F403
from .upfirdn2d import *  # noqa: F401,F403
from .bias_act import *  # noqa: F401,F403
from .modulated_conv import *  # noqa: F401,F403
from .stylegan2_blocks import *  # noqa: F401,F403
from .stylegan2_modulated import *  # noqa: F401,F403
from .ada_augment import *  # noqa: F401,F403
from .stylegan1_blocks import *  # noqa: F401,F403
from .filtered_lrelu import *  # noqa: F401,F403
