"""genforge.models.layers: one file per family; each module lists its names in __all__."""
from .layer_builders import *  # noqa: F401,F403
from .latent_sampling import *  # noqa: F401,F403
from .conv_module import *  # noqa: F401,F403
from .linear_module import *  # noqa: F401,F403
from .upsample import *  # noqa: F401,F403
from .sr_blocks import *  # noqa: F401,F403
from .spectral_norm import *  # noqa: F401,F403
from .sngan_init import *  # noqa: F401,F403
from .self_attention import *  # noqa: F401,F403
from .conditional_bn import *  # noqa: F401,F403
from .equalized_lr import *  # noqa: F401,F403
from .pggan_blocks import *  # noqa: F401,F403
from .positional_encoding import *  # noqa: F401,F403
from .denoising_blocks import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
