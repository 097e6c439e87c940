"""Folder scanning and annotation-file reading with errors that name the path and the fix."""
from __future__ import annotations

import logging
import os
import os.path as osp
from collections.abc import Sequence

logger = logging.getLogger(__name__)

__all__ = ['IMG_EXTENSIONS', 'scan_files', 'read_lines', 'require_folder']

IMG_EXTENSIONS = ('.jpg', '.JPG', '.jpeg', '.JPEG', '.png', '.PNG', '.ppm', '.PPM', '.bmp', '.BMP',
                  '.tif', '.TIF', '.tiff', '.TIFF')


def require_folder(folder: str, who: str, hint: str = '') -> None:
    """Raise FileNotFoundError/NotADirectoryError naming ``folder`` if it is not a directory."""
    if osp.isdir(folder):
        return
    what = 'is a file, not a folder' if osp.exists(folder) else 'does not exist'
    err = NotADirectoryError if osp.exists(folder) else FileNotFoundError
    raise err(f'{who}: image folder {folder!r} {what}. {hint or "Check data_root and data_prefix."}')


def scan_files(folder: str, suffixes: str | Sequence[str] | None, recursive: bool = False,
               case_sensitive: bool = True) -> tuple[list[str], int]:
    """Sorted paths relative to ``folder`` of files ending with ``suffixes``; plus #other files.

    Sorting makes the sample order independent of the file system (os.scandir is unordered).
    """
    if isinstance(suffixes, str):
        suffixes = (suffixes,)
    sfx = tuple(suffixes) if suffixes else None
    if sfx is not None and not case_sensitive:
        sfx = tuple(s.lower() for s in sfx)
    found, others = [], 0
    seen_dirs: set[str] = set()      # real paths: a symlink loop (loop -> .) is entered once
    seen_files: dict[str, str] = {}  # real path -> first relative path that reached it
    skipped: list[str] = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        real_root = osp.realpath(root)
        if real_root in seen_dirs:
            skipped.append(root)
            dirs[:] = []
            continue
        seen_dirs.add(real_root)
        dirs.sort()
        rel_root = osp.relpath(root, folder)
        for name in files:
            if name.startswith('.'):
                continue  # hidden files (.DS_Store ...) are never images
            key = name if case_sensitive else name.lower()
            if sfx is None or key.endswith(sfx):
                rel = name if rel_root == '.' else osp.join(rel_root, name)
                real = osp.realpath(osp.join(root, name))
                if real in seen_files:
                    skipped.append(rel)
                    continue
                seen_files[real] = rel
                found.append(rel)
            else:
                others += 1
        if not recursive:
            break
    if skipped:
        logger.warning('%s: %d folder(s)/file(s) reached again through symbolic links were read '
                       'once (a link cycle or a duplicate link), e.g. %s', folder, len(skipped),
                       skipped[0])
    return sorted(found), others


def no_images_message(who: str, folder: str, suffixes, others: int, recursive: bool) -> str:
    msg = f'{who}: found no image files in {folder!r} (suffixes {tuple(suffixes)}'
    msg += ', searched recursively)' if recursive else ', top level only)'
    if others:
        msg += f'; {others} other file(s) were ignored. Add their suffix to the suffix argument'
        if not recursive:
            msg += ' or set recursive=True if the images are in sub-folders'
    elif not recursive:
        msg += '. If the images are in sub-folders, set recursive=True'
    return msg + '.'


def read_lines(path: str, who: str) -> list[str]:
    """Non-empty lines of a text annotation file (FileNotFoundError naming it if missing)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{who}: annotation file {path!r} does not exist. Check ann_file and '
                                'data_root (a relative ann_file is joined onto data_root).')
    from genforge.fileio import read_text
    lines = [line.rstrip('\r') for line in read_text(path, f'{who}: annotation file').split('\n')]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ValueError(f'{who}: annotation file {path!r} is empty; it needs one sample per line')
    return lines
