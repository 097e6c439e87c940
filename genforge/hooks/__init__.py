"""genforge.hooks: the Hook base class and every hook (importing registers them in HOOKS)."""
from .checkpoint_hook import CheckpointHook  # noqa: F401
from .ema_hook import EMAHook  # noqa: F401
from .empty_cache_hook import EmptyCacheHook  # noqa: F401
from .hook import Hook, Priority, get_priority  # noqa: F401
from .iter_timer_hook import IterTimerHook  # noqa: F401
from .logger_hook import LoggerHook  # noqa: F401
from .param_scheduler_hook import ParamSchedulerHook  # noqa: F401
from .progress import ProgressBarHook  # noqa: F401
from .runtime_info_hook import RuntimeInfoHook  # noqa: F401
from .sampler_seed_hook import DistSamplerSeedHook  # noqa: F401
from .visualization_hook import BasicVisualizationHook, VisualizationHook  # noqa: F401
from .pggan_fetch_data_hook import PGGANFetchDataHook  # noqa: F401
from .pickle_data_hook import PickleDataHook  # noqa: F401
from .vis_samplers import VIS_KWARGS_MAPPING, build_vis_sampler  # noqa: F401
