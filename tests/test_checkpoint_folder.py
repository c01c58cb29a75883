"""The checkpoint folder (issue 26, one home per job): `common.io.checkpoint_folder.CheckpointFolder` owns the file
names, the latest checkpoint, the resume point and the settings check; the recorded settings come from the typed
configurations (`run_settings`), not from a list of flags."""
import dataclasses

import pytest

from cli.arguments import FLAG_NAMES, data_config, model_request, parse_args, train_config
from common.data.sources import DataConfig
from common.errors import UserError
from common.io.checkpoint_folder import (LAST_CHECKPOINT, SETTINGS_VERSION, CheckpointFolder, epoch_checkpoint,
                                         is_training_checkpoint, run_settings)
from common.model.config import ModelConfig
from common.training import TrainConfig


def settings_of(argv):
    """The settings a training of `argv` records (its model: the flags' model of 17 joints)."""
    args = parse_args(argv)
    return train_config(args, 'cpu', data_config(args), model_request(args, 17)).settings


def test_names_latest_and_resume_point(tmp_path):
    folder = CheckpointFolder(tmp_path / 'c')
    assert [is_training_checkpoint(n) for n in (epoch_checkpoint(40), 'best_epoch.bin', LAST_CHECKPOINT,
                                                 'detected81f.bin', '.last_epoch.bin.x.tmp')] == [1, 1, 1, 0, 0]
    assert folder.latest() is None and folder.resume_point('', auto=True) == ''
    assert folder.resume_point('epoch_40.bin', auto=False) == 'epoch_40.bin'
    folder.path.mkdir()
    folder.last.write_bytes(b'')
    assert folder.latest() == tmp_path / 'c' / 'last_epoch.bin'
    assert folder.resume_point('', auto=True) == LAST_CHECKPOINT
    # the official lookup: inside the folder first, else a path that exists as given
    (tmp_path / 'elsewhere.bin').write_bytes(b'')
    assert folder.resolve('last_epoch.bin') == folder.last
    assert folder.resolve(str(tmp_path / 'elsewhere.bin')) == tmp_path / 'elsewhere.bin'
    assert folder.resolve('missing.bin') == folder.file('missing.bin')


def test_recorded_settings_are_every_field_of_the_typed_configs_but_where_and_how_long():
    settings = settings_of(['-d', 'synthetic', '-k', 'gt', '-lr', '0.002', '-f', '27'])
    expected = set()
    for config_type in (DataConfig, ModelConfig, TrainConfig):
        names = getattr(config_type, 'SETTING_NAMES', {})
        expected |= {names.get(f.name, f.name) for f in dataclasses.fields(config_type)
                     if f.name not in getattr(config_type, 'NOT_RECORDED', ())}
    assert set(settings) == expected | {'test_time_augmentation'}
    assert settings['learning_rate'] == 0.002 and settings['number_of_frames'] == 27 and settings['dataset'] == \
        'synthetic'
    for where_or_how_long in ('data_dir', 'checkpoint_dir', 'epochs', 'checkpoint_frequency', 'compile'):
        assert where_or_how_long not in settings
    # every recorded setting that a flag sets is named by that flag's setting name (errors show the flag)
    assert {'number_of_frames', 'drop_path', 'model_dropout', 'data_augmentation', 'subjects_train'} <= \
        set(settings) & set(FLAG_NAMES)
    assert settings_of(['-d', 'synthetic', '-k', 'gt', '-e', '5', '-c', 'x', '--data-dir', 'y']) == \
        settings_of(['-d', 'synthetic', '-k', 'gt'])


def test_another_runs_settings_are_refused_naming_each_flag(tmp_path):
    folder = CheckpointFolder(tmp_path)
    recorded = settings_of(['--drop-path', '0.2'])
    checkpoint = {'extra': {'settings': recorded, 'settings_version': SETTINGS_VERSION}}
    folder.check_same_run(checkpoint, settings_of(['--drop-path', '0.2', '-e', '9']))     # the same run, longer
    with pytest.raises(UserError) as error:
        folder.check_same_run(checkpoint, settings_of(['--drop-path', '0.1', '-lr', '0.001']))
    shown = error.value.describe(FLAG_NAMES)
    assert shown.startswith(f'-r/--resume auto: {folder.last} belongs to a run with other settings (')
    assert '--drop-path 0.2 there, 0.1 here' in shown and '-lr/--learning-rate 0.0001 there, 0.001 here' in shown
    assert '{' not in shown
    # settings recorded by an older version (the command's flags) or none: cannot be compared
    for extra in ({'settings': {'learning_rate': 0.0001}}, {}):
        with pytest.raises(UserError, match='does not record the settings of its run') as error:
            folder.check_same_run({'extra': extra}, recorded)
        assert 'continue it by name with -r/--resume last_epoch.bin' in error.value.describe(FLAG_NAMES)


def test_run_settings_reads_the_configs_given():
    data = DataConfig(dataset='h36m', subjects_train=('S1',))
    train = TrainConfig(epochs=3, augment=False)
    settings = run_settings(data, ModelConfig(num_frame=9, causal=True), train)
    assert settings['subjects_train'] == ('S1',) and settings['data_augmentation'] is False
    assert settings['number_of_frames'] == 9 and settings['causal'] is True and settings['validate'] is True
