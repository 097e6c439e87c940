"""MMagic-style entry point: ``python tools/train.py CONFIG [options]`` == ``genforge train``."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from genforge.cli import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main(['train', *sys.argv[1:]]))
