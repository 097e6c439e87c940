"""LogProcessor: turns the MessageHub's scalars into a log line and a dict for the JSON log."""
from __future__ import annotations

import datetime
import re
from typing import Any

import torch

from genforge.registry import LOG_PROCESSORS


@LOG_PROCESSORS.register_module()
class LogProcessor:
    """Smooths ``<mode>/<key>`` scalars over ``window_size`` and formats them.

    Keys matching ``mean_pattern`` (losses, times) are averaged over the window; others (lr) show
    their latest value. ``custom_cfg`` entries add statistics, e.g.
    ``dict(data_src='loss_gen', method_name='mean', window_size='global', log_name='g_avg')``
    (``window_size``: int, 'epoch' or 'global'; ``method_name``: mean/max/min/current).

    Example: log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
    """

    def __init__(self, window_size: int = 10, by_epoch: bool = True,
                 custom_cfg: list[dict] | None = None, num_digits: int = 4,
                 log_with_hierarchy: bool = False,
                 mean_pattern: str = r'.*(loss|time|data_time|grad_norm).*'):
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.custom_cfg = list(custom_cfg or [])
        self.num_digits = num_digits
        self.log_with_hierarchy = log_with_hierarchy
        self.mean_pattern = re.compile(mean_pattern)
        for i, cfg in enumerate(self.custom_cfg):
            for key in ('data_src', 'method_name'):
                if key not in cfg:
                    raise KeyError(f'log_processor.custom_cfg[{i}] needs {key!r}: {cfg}')

    # -- collecting -------------------------------------------------------------------------
    def _window(self, window, runner, batch_idx: int) -> int | None:
        if window == 'global':
            return None
        if window == 'epoch':
            return batch_idx + 1
        return int(window)

    def _collect(self, runner, mode: str, batch_idx: int) -> dict[str, float]:
        prefix = f'{mode}/'
        tag: dict[str, float] = {}
        for key, buf in runner.message_hub.log_scalars.items():
            if not key.startswith(prefix):
                continue
            name = key[len(prefix):]
            if self.mean_pattern.match(name):
                tag[name] = buf.mean(self.window_size)
            else:
                tag[name] = buf.current()
        for cfg in self.custom_cfg:
            src = prefix + cfg['data_src']
            if src not in runner.message_hub.log_scalars:
                continue
            window = self._window(cfg.get('window_size', self.window_size), runner, batch_idx)
            buf = runner.message_hub.log_scalars[src]
            method = cfg['method_name']
            value = buf.current() if method == 'current' else buf.statistics(method, window)
            tag[cfg.get('log_name', cfg['data_src'])] = value
        return tag

    # -- formatting -------------------------------------------------------------------------
    def _fmt(self, value: Any) -> str:
        if isinstance(value, float):
            return f'{value:.{self.num_digits}f}'
        return str(value)

    def get_log_after_iter(self, runner, batch_idx: int, mode: str) -> tuple[dict, str]:
        """``(tag, line)`` for a train/val/test iteration; tag holds iter/epoch/lr/losses."""
        tag = self._collect(runner, mode, batch_idx)
        lr_parts = [f'{k}: {v:.{self.num_digits}e}' for k, v in tag.items() if k.endswith('lr')]
        others = {k: v for k, v in tag.items() if not k.endswith('lr')}
        if mode == 'train':
            head = self._train_head(runner, batch_idx, tag)
        else:
            total = runner.message_hub.get_info(f'{mode}_num_batches')
            if total is None:  # a loop that did not count its batches
                loader = runner.val_dataloader if mode == 'val' else runner.test_dataloader
                total = len(loader) if loader is not None else 0
            head = f'{mode.capitalize()}({mode}) [{batch_idx + 1:>{len(str(total))}}/{total}]'
        parts = [head] + lr_parts
        eta = runner.message_hub.get_info('eta')
        if mode == 'train' and eta is not None:
            parts.append(f'eta: {datetime.timedelta(seconds=int(eta))}')
        for key in ('time', 'data_time'):
            if key in others:
                parts.append(f'{key}: {self._fmt(others.pop(key))}')
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            memory = int(torch.cuda.max_memory_allocated() / 1024 ** 2)
            tag['memory'] = memory
            parts.append(f'memory: {memory}')
        parts += [f'{k}: {self._fmt(v)}' for k, v in others.items()]
        return tag, '  '.join(parts)

    def _train_head(self, runner, batch_idx: int, tag: dict) -> str:
        cur_iter = runner.iter + 1
        tag_out = {'iter': cur_iter}
        if self.by_epoch:
            tag_out['epoch'] = runner.epoch + 1
            total = len(runner.train_dataloader)
            head = (f'Epoch(train) [{runner.epoch + 1}][{batch_idx + 1:>{len(str(total))}}'
                    f'/{total}]')
        else:
            head = f'Iter(train) [{cur_iter:>{len(str(runner.max_iters))}}/{runner.max_iters}]'
        # Counters first: the JSON log line reads {"iter": .., "epoch": .., "lr": .., ...}.
        merged = {**tag_out, **tag}
        tag.clear()
        tag.update(merged)
        return head

    def get_log_after_epoch(self, runner, batch_idx: int, mode: str,
                            with_non_scalar: bool = False) -> tuple[dict, str]:
        """``(metrics tag, line)`` after a val/test epoch: metrics and mean times of the epoch."""
        prefix = f'{mode}/'
        tag: dict[str, Any] = {}
        for key, buf in runner.message_hub.log_scalars.items():
            if key.startswith(prefix):
                name = key[len(prefix):]
                tag[name] = buf.mean(batch_idx) if name in ('time', 'data_time') \
                    else buf.current()
        if with_non_scalar:
            for key, value in runner.message_hub.runtime_info.items():
                if key.startswith(prefix):
                    tag[key[len(prefix):]] = value
        if self.by_epoch and getattr(runner, 'train_loop', None) is not None \
                and mode == 'val':
            head = f'Epoch({mode}) [{runner.epoch}][{batch_idx}/{batch_idx}]'
        else:
            head = f'{"Iter" if mode == "val" else "Epoch"}({mode}) [{batch_idx}/{batch_idx}]'
        metrics = {k: v for k, v in tag.items() if k not in ('time', 'data_time')}
        parts = [head] + [f'{k}: {self._fmt(v)}' for k, v in metrics.items()]
        parts += [f'{k}: {self._fmt(tag[k])}' for k in ('data_time', 'time') if k in tag]
        return tag, '  '.join(parts)


__all__ = ['LogProcessor']
