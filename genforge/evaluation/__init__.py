"""genforge.evaluation."""
from .metrics.base import BaseMetric  # noqa: F401
from .evaluator import Evaluator  # noqa: F401
from .metrics import MAE, MSE, PSNR, SSIM  # noqa: F401
from .metrics import (FrechetInceptionDistance, GenerativeMetric, GenMetric,  # noqa: F401
                      InceptionScore, KernelInceptionDistance, MultiScaleStructureSimilarity,
                      PerceptualPathLength, PrecisionAndRecall, SlicedWassersteinDistance,
                      TransFID, TransIS)
from .metrics import Accuracy, SingleLabelMetric  # noqa: F401
