"""genforge.models.losses: one file per family; each module lists its names in __all__."""
from .gan_loss import *  # noqa: F401,F403
from .gradient_penalty import *  # noqa: F401,F403
from .disc_shift_loss import *  # noqa: F401,F403
from .loss_wrapper import *  # noqa: F401,F403
from .pixel_loss import *  # noqa: F401,F403
from .perceptual_loss import *  # noqa: F401,F403
from .cross_entropy_loss import *  # noqa: F401,F403
from .label_smooth_loss import *  # noqa: F401,F403
from .reconstruction_loss import *  # noqa: F401,F403
from .path_regularizer import *  # noqa: F401,F403
from .ddpm_loss import *  # noqa: F401,F403
