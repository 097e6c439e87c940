"""``python -m genforge`` == the ``genforge`` command."""
import sys

from genforge.cli import main

if __name__ == '__main__':
    sys.exit(main())
