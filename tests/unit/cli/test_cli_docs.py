"""docs/cli.md's command table lists every flag of every sub-command, and no other."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from genforge.cli import build_parser

DOC = Path(__file__).resolve().parents[3] / 'docs' / 'cli.md'


def _parser_flags() -> dict[str, set[str]]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {}
    for name, parser in sub.choices.items():
        flags[name] = {opt for a in parser._actions if a.option_strings and
                       a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)
                       for opt in a.option_strings}
    return flags


def _doc_flags() -> dict[str, set[str]]:
    """``{command: flags}`` from the rows of the first table (first cell: `genforge CMD ...`)."""
    flags: dict[str, set[str]] = {}
    for line in DOC.read_text().splitlines():
        cell = line.split(' | ')[0] if line.startswith('| `genforge ') else None
        if cell is None:
            continue
        for usage in re.findall(r'`(genforge [^`]+)`', cell):
            command = usage.split()[1]
            flags.setdefault(command, set()).update(re.findall(r'(?<![\w-])--?[a-z][a-z0-9-]*', usage))
    return flags


def test_cli_md_flag_table_matches_the_parsers():
    doc, real = _doc_flags(), _parser_flags()
    assert set(doc) == set(real), f'commands: missing {set(real) - set(doc)}, ' \
                                  f'unknown {set(doc) - set(real)}'
    for command, flags in real.items():
        assert doc[command] == flags, (f'genforge {command}: undocumented {flags - doc[command]}, '
                                       f'documented but absent {doc[command] - flags}')


def test_top_level_debug_is_documented():
    assert '--debug' in DOC.read_text()
