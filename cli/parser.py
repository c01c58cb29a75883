"""argparse for every program: errors become `UserError`, and settings map back to flags."""
import argparse

from common.errors import UserError


class HelpWithDefaults(argparse.HelpFormatter):
    """--help shows each flag's default, unless its help text already states it."""

    def _get_help_string(self, action):
        text = action.help or ''
        shown = action.default not in (None, False, '', argparse.SUPPRESS) and action.nargs != 0
        if shown and 'default' not in text:
            text += ' (default: %(default)s)'
        return text


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UserError (printed by `cli.entry.run_program`) instead of exiting itself.

    Abbreviations of long flags are accepted as argparse does. `preferred`: argparse dests that win
    an ambiguous abbreviation (e.g. the official program's ``--eval`` means ``--evaluate`` even
    though ``--eval-batch-size`` exists too).
    """

    def __init__(self, *args, preferred=(), **kwargs):
        kwargs.setdefault('formatter_class', HelpWithDefaults)
        super().__init__(*args, **kwargs)
        self.preferred = set(preferred)

    def _get_option_tuples(self, option_string):
        matches = super()._get_option_tuples(option_string)
        if len(matches) > 1:
            preferred = [m for m in matches if m[0].dest in self.preferred]
            if len({m[0].dest for m in preferred}) == 1:
                return preferred[:1]
        return matches

    def error(self, message):
        raise UserError(f'{message} (see python {self.prog} --help)')


def flag_names(parser):
    """Setting (argparse dest) -> how messages name its flag: the short and the long spelling, '-k/--keypoints'."""
    names = {}
    for action in parser._actions:
        if action.option_strings and action.dest not in names:
            first, longest = action.option_strings[0], max(action.option_strings, key=len)
            names[action.dest] = first if first == longest else f'{first}/{longest}'
    return names
