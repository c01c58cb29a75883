"""The checkpoint folder of a training run: its file names, its latest checkpoint, its lock, the resume
point and the check that a checkpoint belongs to the run a command describes. One object, `CheckpointFolder`,
used by training (where to write), by the program (where to resume, what to hold) and by its messages.

Files a training writes (the official names): ``epoch_<N>.bin`` every ``checkpoint_frequency`` epochs,
``best_epoch.bin`` when the validation error improves, and ours, ``last_epoch.bin``, every epoch (the latest
state). The folder is held by one training at a time (`claim`, `common.io.run_lock`).

Recorded settings (`run_settings`): what a training computes is fixed by its typed configurations (the data's
`DataConfig`, the model's `ModelConfig`, the optimisation's `TrainConfig`); every checkpoint records them as
plain data ({setting name: value}, ``extra['settings']``, with ``extra['settings_version']``) so that
`check_same_run` can refuse to continue a run made with other ones. Not recorded: where things are (folders),
how long (a longer run continues a shorter one), which epochs are kept, compilation, and what is printed.
"""
import dataclasses
import re
from pathlib import Path

from common.errors import UserError

__all__ = ['LAST_CHECKPOINT', 'BEST_CHECKPOINT', 'SETTINGS_VERSION', 'CheckpointFolder', 'epoch_checkpoint',
           'is_training_checkpoint', 'run_settings']

LAST_CHECKPOINT = 'last_epoch.bin'     # the latest state, written every epoch
BEST_CHECKPOINT = 'best_epoch.bin'     # the best validation error so far (official name)
_TRAINING_CHECKPOINT = re.compile(r'^(epoch_\d+|best_epoch|last_epoch)\.bin$')
# The form of extra['settings'] that `check_same_run` compares: 2 = `run_settings` of the typed configs
# (files without it recorded the command's flags, or nothing).
SETTINGS_VERSION = 2


def epoch_checkpoint(epoch):
    """The official name of the checkpoint of epoch `epoch`: ``epoch_<N>.bin``."""
    return f'epoch_{epoch}.bin'


def is_training_checkpoint(name):
    """Whether a file name is one a training writes: ``epoch_<N>.bin``, ``best_epoch.bin``, ``last_epoch.bin``."""
    return _TRAINING_CHECKPOINT.match(name) is not None


def run_settings(data, model, train):
    """What a training computes, as plain data: {setting name: value} of its typed configurations.

    `data`: a `DataConfig`, `model`: the `ModelConfig` of the model trained, `train`: a `TrainConfig`. Every
    field is recorded except those each type lists in ``NOT_RECORDED`` (where things are, how long, what is
    shown); a field is named by its setting (the type's ``SETTING_NAMES``, else the field's own name).
    """
    settings = {}
    for config in (data, model, train):
        names = getattr(config, 'SETTING_NAMES', {})
        for field in dataclasses.fields(config):
            if field.name not in getattr(config, 'NOT_RECORDED', ()):
                settings[names.get(field.name, field.name)] = getattr(config, field.name)
    settings['test_time_augmentation'] = train.validation.tta       # how each epoch's validation is scored
    return settings


class CheckpointFolder:
    """The checkpoint folder `path` of a run (need not exist yet)."""

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f'CheckpointFolder({str(self.path)!r})'

    def file(self, name):
        """The path of the checkpoint file `name` inside the folder."""
        return self.path / name

    @property
    def last(self):
        """The path of ``last_epoch.bin``, the latest state of the folder's run (it may not exist)."""
        return self.file(LAST_CHECKPOINT)

    def latest(self):
        """The path of ``last_epoch.bin`` when the folder holds one, else None."""
        return self.last if self.last.is_file() else None

    def resolve(self, name):
        """The checkpoint file a name given by the user means: inside the folder (as the official program),
        else a path as given when one exists there."""
        inside = self.file(name)
        if inside.exists() or not Path(name).exists():
            return inside
        return Path(name)

    def resume_point(self, requested, auto):
        """The name of the checkpoint a training continues from ('' for a fresh start).

        `requested`: the file named by the user ('' for none); `auto`: continue the folder's run when it has
        one (``last_epoch.bin``), else start afresh.
        """
        if auto:
            return LAST_CHECKPOINT if self.latest() else ''
        return requested

    def claim(self, resume_from=None, overwrite=False):
        """Hold the folder for one training (a context manager; see `common.io.run_lock.claim_checkpoint_folder`):
        created, locked, checked for an earlier run's checkpoints (refused unless resumed from or `overwrite`),
        cleaned of stale temporaries; folders it created are removed again if they end empty."""
        from common.io.run_lock import claim_checkpoint_folder      # run_lock takes the file names from here
        return claim_checkpoint_folder(self.path, resume_from=resume_from, overwrite=overwrite)

    def written_since(self, started):
        """``last_epoch.bin`` when it was written at or after `started` (a time.time()), else None."""
        last = self.latest()
        return last if last is not None and last.stat().st_mtime >= started - 1 else None   # 1 s: coarse file times

    def check_same_run(self, checkpoint, settings):
        """Refuse to continue `checkpoint` (the folder's ``last_epoch.bin``, loaded) with other `settings`
        (`run_settings` of this command) than its run's.

        Raises:
            UserError (setting ``resume``): the file records no settings in the compared form (the official
                code's, an older version's), or its run had other ones; every differing setting is named
                (``{name}`` in the message: `UserError.describe` shows it in the caller's terms).
        """
        extra = checkpoint.get('extra') or {}
        recorded = extra.get('settings')
        if not recorded or extra.get('settings_version') != SETTINGS_VERSION:
            raise UserError(f'auto: {self.last} does not record the settings of its run in the form this version '
                            'compares (it was written by the official code or an older version), so it cannot be '
                            f'checked against this command; continue it by name with {{resume}} {LAST_CHECKPOINT}, '
                            'or choose another checkpoint folder', setting='resume', mentions=['resume'])
        differences = [(name, recorded.get(name), settings.get(name)) for name in sorted(set(recorded) | set(settings))
                       if recorded.get(name) != settings.get(name)]
        if differences:
            shown = '; '.join(f'{{{name}}} {_shown(there)} there, {_shown(here)} here'
                              for name, there, here in differences)
            raise UserError(f'auto: {self.last} belongs to a run with other settings ({shown}); give that run\'s '
                            'settings to continue it, or choose another checkpoint folder', setting='resume',
                            mentions=[name for name, _, _ in differences])


def _shown(value):
    if value is None:
        return 'unset'
    if isinstance(value, (tuple, list)):
        return ','.join(map(str, value))
    return str(value) if not isinstance(value, str) else (value or "''")

