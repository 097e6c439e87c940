"""genforge.models.heads: one file per family; each module lists its names in __all__."""
from .cls_head import *  # noqa: F401,F403
from .mae_head import *  # noqa: F401,F403
from .multi_label_head import *  # noqa: F401,F403
from .vit_head import *  # noqa: F401,F403
