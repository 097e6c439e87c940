"""genforge.runner: Runner, loops, MessageHub, LogProcessor and checkpoint helpers."""
from .checkpoint import (  # noqa: F401
                         find_latest_checkpoint,
                         load_checkpoint,
                         load_state_dict,
                         load_state_dict_from_file,
                         save_checkpoint,
)
from .log_processor import LogProcessor  # noqa: F401
from .loops import (  # noqa: F401
                         BaseLoop,
                         EpochBasedTrainLoop,
                         GenTestLoop,
                         GenValLoop,
                         IterBasedTrainLoop,
                         MultiTestLoop,
                         MultiValLoop,
                         TestLoop,
                         ValLoop,
)
from .message_hub import HistoryBuffer, MessageHub  # noqa: F401
from .resume import find_resume_checkpoint  # noqa: F401
from .runner import Runner  # noqa: F401
from .utils import set_random_seed  # noqa: F401
from .work_dir_lock import WorkDirLock, WorkDirLockedError  # noqa: F401
