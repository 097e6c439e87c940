"""``genforge plot-logs``: loss and metric curves from a work dir's JSON-lines scalars."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

EXAMPLES = """Examples:
  genforge plot-logs work_dirs/demo --out curves.png
  genforge plot-logs work_dirs/dcgan --keys loss_gen loss_disc_fake loss_disc_real --out losses.png
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('plot-logs', help='plot loss/metric curves from a work dir',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('work_dir', help='a work dir (or one run folder, or a scalars.json file)')
    p.add_argument('--keys', nargs='+', default=None,
                   help='scalar names to plot (default: every key containing "loss")')
    p.add_argument('--out', default=None, help='output PNG (default: <work_dir>/curves.png)')
    p.set_defaults(func=run)


def find_scalar_files(path: str | os.PathLike) -> list[Path]:
    """scalars.json files under ``path``, oldest run first (runs are timestamped folders)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        from genforge.cli import CLIError
        raise CLIError(f'work dir not found: {path}')
    files = sorted(path.glob('**/vis_data/scalars.json')) or sorted(path.glob('**/scalars.json'))
    return files


def read_scalars(files: list[Path]) -> list[dict]:
    """Every JSON-object line of ``files``. Other lines are skipped: a run killed mid-write leaves
    one partial last line; anything else (bytes that are not UTF-8, JSON that is not an object)
    is counted and reported on stderr with the file name."""
    import sys
    records = []
    for file in files:
        bad, last_bad = 0, False
        with open(file, 'rb') as f:
            for raw in f:
                try:
                    record = json.loads(raw.decode('utf-8').strip() or 'null')
                except (UnicodeDecodeError, json.JSONDecodeError):
                    record = False
                if record is None:   # blank line
                    continue
                last_bad = not isinstance(record, dict)
                if last_bad:
                    bad += 1
                    continue
                records.append(record)
        bad -= last_bad   # the partial last line of a killed run is expected
        if bad:
            print(f'genforge plot-logs: warning: skipped {bad} line(s) of {file} that are not '
                  f'JSON objects (damaged log?)', file=sys.stderr)
    return records


def collect_series(records: list[dict], keys: list[str] | None) -> dict[str, tuple[list, list]]:
    if keys is None:
        keys = sorted({k for r in records for k in r if 'loss' in k})
    series: dict[str, tuple[list, list]] = {}
    for key in keys:
        steps, values = [], []
        for r in records:
            if key in r and isinstance(r[key], (int, float)):
                steps.append(r.get('step', r.get('iter', len(steps))))
                values.append(r[key])
        if steps:
            series[key] = (steps, values)
    return series


def plot_series(series: dict[str, tuple[list, list]], out: str | os.PathLike, title: str = '') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, (steps, values) in series.items():
        ax.plot(steps, values, label=key, linewidth=1.2)
    ax.set_xlabel('iteration')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from genforge.fileio import atomic_open
    with atomic_open(out, 'wb') as f:
        fig.savefig(f, dpi=100, format='png')
    plt.close(fig)


def run(args) -> int:
    from genforge.cli import CLIError
    files = find_scalar_files(args.work_dir)
    if not files:
        raise CLIError(f'no scalars.json under {args.work_dir}: train first, or pass the run folder')
    records = read_scalars(files)
    series = collect_series(records, args.keys)
    missing = [k for k in args.keys or [] if k not in series]
    if missing or not series:
        wanted = ', '.join(missing) if missing else 'keys containing "loss"'
        known = sorted({k for r in records for k, v in r.items()
                        if isinstance(v, (int, float)) and k not in ('step', 'iter', 'epoch')})
        raise CLIError(f'[{wanted}] not found in {files[-1]}; its keys are: '
                       f'{", ".join(known) or "(none)"}')
    out = args.out or str(Path(args.work_dir if Path(args.work_dir).is_dir() else
                               Path(args.work_dir).parent) / 'curves.png')
    from ._common import refuse_overwrite
    refuse_overwrite([out], files)
    plot_series(series, out, title=str(args.work_dir))
    print(f'wrote {out} ({", ".join(series)})')
    return 0
