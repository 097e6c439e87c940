"""genforge.config: MMEngine-style ``Config`` (``_base_``/``_delete_``), ``ConfigDict``, ``DictAction``."""
from .config import Config
from .config_dict import ConfigDict
from .dict_action import DictAction, parse_cfg_options

__all__ = ['Config', 'ConfigDict', 'DictAction', 'parse_cfg_options']
