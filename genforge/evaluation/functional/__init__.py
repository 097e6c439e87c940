"""genforge.evaluation.functional."""
from .sr import *  # noqa: F401,F403
from .gen_metrics import *  # noqa: F401,F403
