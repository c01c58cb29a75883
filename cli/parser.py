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
    """Setting (argparse dest) -> the flag users type for it (its longest spelling)."""
    names = {}
    for action in parser._actions:
        if action.option_strings and action.dest not in names:
            names[action.dest] = max(action.option_strings, key=len)
    return names
