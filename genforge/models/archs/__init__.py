"""genforge.models.archs: one file per family; each module lists its names in __all__."""
from .dcgan import *  # noqa: F401,F403
from .lsgan import *  # noqa: F401,F403
from .wgangp import *  # noqa: F401,F403
from .srcnn import *  # noqa: F401,F403
from .msrresnet import *  # noqa: F401,F403
from .edsr import *  # noqa: F401,F403
from .rrdbnet import *  # noqa: F401,F403
from .rdn import *  # noqa: F401,F403
from .modified_vgg import *  # noqa: F401,F403
from .sngan_proj import *  # noqa: F401,F403
from .sagan import *  # noqa: F401,F403
from .biggan import *  # noqa: F401,F403
from .biggan_deep import *  # noqa: F401,F403
from .vision_transformer import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .mae_vit import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
