"""genforge.models.algorithms: one file per family; each module lists its names in __all__."""
from .base_edit_model import *  # noqa: F401,F403
from .srgan import *  # noqa: F401,F403
from .esrgan import *  # noqa: F401,F403
from .base_gan import *  # noqa: F401,F403
from .base_conditional_gan import *  # noqa: F401,F403
from .dcgan import *  # noqa: F401,F403
from .lsgan import *  # noqa: F401,F403
from .ggan import *  # noqa: F401,F403
from .wgan_gp import *  # noqa: F401,F403
from .sagan import *  # noqa: F401,F403
from .sngan import *  # noqa: F401,F403
from .biggan import *  # noqa: F401,F403
from .image_classifier import *  # noqa: F401,F403
from .base_selfsup import *  # noqa: F401,F403
from .mae import *  # noqa: F401,F403
from .stylegan2 import *  # noqa: F401,F403
from .stylegan3 import *  # noqa: F401,F403
