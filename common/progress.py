"""Progress bars (tqdm) that stay quiet when output is not a terminal or when CI is set."""
import os
import sys

from tqdm import tqdm


def progress_wanted(mode='auto'):
    """'on' / 'off' force it; 'auto' shows bars only on an interactive terminal outside CI."""
    if mode == 'on':
        return True
    if mode == 'off':
        return False
    return sys.stderr.isatty() and not os.environ.get('CI')


def progress_bar(iterable, enabled, **kwargs):
    return tqdm(iterable, disable=not enabled, leave=False, dynamic_ncols=True, **kwargs)
