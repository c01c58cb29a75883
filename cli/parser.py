"""argparse for every program: errors become `UserError`, and settings map back to flags."""
import argparse

from common.errors import UserError


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UserError (printed by `cli.entry.run_program`) instead of exiting itself.

    Abbreviations of long flags are accepted as argparse does.
    """

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
