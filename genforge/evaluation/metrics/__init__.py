"""genforge.evaluation.metrics."""
from .base import BaseMetric  # noqa: F401
from .base_sample_wise_metric import *  # noqa: F401,F403
from .psnr import *  # noqa: F401,F403
from .ssim import *  # noqa: F401,F403
from .mae import *  # noqa: F401,F403
from .mse import *  # noqa: F401,F403
from .base_gen_metric import *  # noqa: F401,F403
from .fid import *  # noqa: F401,F403
from .kid import *  # noqa: F401,F403
from .inception_score import *  # noqa: F401,F403
from .precision_recall import *  # noqa: F401,F403
from .swd import *  # noqa: F401,F403
from .ms_ssim import *  # noqa: F401,F403
from .ppl import *  # noqa: F401,F403
from .accuracy import *  # noqa: F401,F403
from .single_label import *  # noqa: F401,F403
from .digit_score import *  # noqa: F401,F403
