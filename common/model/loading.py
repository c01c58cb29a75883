"""The model of a run: which configuration wins when settings are requested AND a checkpoint is given,
and whether a checkpoint fits the data it is given.

One rule (`resolve_model_config`), used by training, evaluation and every tool, the same for every
model setting:

* no checkpoint: the requested configuration;
* a checkpoint fixes the architecture: ``num_frame``, ``num_joints``, ``in_chans``,
  ``embed_dim_ratio``, ``depth``, ``mlp_ratio``, ``qkv_bias``, ``num_heads`` and ``causal`` (files
  without it are centred) come from its stored ``config`` (files we write) or, for the official
  release files, from its weights' shapes; those cannot show the head count, so a release file
  keeps the requested ``num_heads`` (8 by default, as released);
* a setting that was explicitly requested (``given``) and differs from what the checkpoint says is
  refused (UserError naming the setting and the checkpoint's value); requested settings the
  checkpoint decides but that were not given simply follow the checkpoint;
* dropout and stochastic-depth rates are always the requested ones (they change no weight).

`check_data_fit` compares a checkpoint with the data: its joint count, and the joint / keypoint
layouts our files store (``'layouts'``, see `common.io.checkpoint.save_checkpoint`); files without
them (the released ones) are assumed to have the layout of their joint count (`ASSUMED_LAYOUTS`).
"""
import torch

from common.errors import UserError
from common.model.config import ModelConfig
from common.model.poseformer import PoseTransformer
from common.model.release import load_model_weights, settings_from_weights

__all__ = ["resolve_model_config", "model_for_run", "records_head_count", "check_data_fit", "check_layout_fit",
           "checkpoint_layouts", "layout_description", "describe_layouts",
           "ASSUMED_LAYOUTS", "model_from_checkpoint"]

# settings a checkpoint decides (besides num_frame, which it decides unless frames were requested)
_ARCHITECTURE = ('num_joints', 'in_chans', 'embed_dim_ratio', 'depth', 'num_heads', 'mlp_ratio', 'qkv_bias',
                 'causal')
# (joints, keypoints) layout names of a checkpoint that stores none, by its joint count: the released
# models are Human3.6M's (17 joints); 15 / 20 joints can only be HumanEva-I's
ASSUMED_LAYOUTS = {17: ('h36m', 'h36m'), 15: ('humaneva15', 'humaneva15'), 20: ('humaneva20', 'humaneva20')}


def _checkpoint_settings(checkpoint, checkpoint_name):
    """The stored ``config`` of one of our files, else what a release file's weights show."""
    stored = checkpoint.get('config')
    if stored:
        return {'causal': False, **stored}      # our files store ``causal`` only when it is True
    return {'causal': False, **settings_from_weights(checkpoint['model_pos'], checkpoint_name)}   # released: centred


def resolve_model_config(requested: ModelConfig, checkpoint, frames_given: bool = False, checkpoint_name=None,
                         given=()) -> ModelConfig:
    """The configuration to build: `requested` where no checkpoint decides (see the module doc).

    Args:
        requested: the settings asked for (defaults included).
        checkpoint: a loaded checkpoint dict (``common.io.checkpoint.load_checkpoint``) or None.
        frames_given: whether ``requested.num_frame`` was chosen explicitly (not a default); the
            same as ``'num_frame'`` in `given`.
        checkpoint_name: named in error messages.
        given: names of the `ModelConfig` fields chosen explicitly (not defaults).

    Raises:
        UserError (setting: the field, ``number_of_frames`` for ``num_frame``): a given setting
            differs from the checkpoint's.
        UserError (setting ``num_heads``): a release checkpoint's joint embedding cannot be split
            into the requested number of heads; or the checkpoint is not a PoseFormer model.
    """
    if checkpoint is None:
        return requested
    given = set(given) | ({'num_frame'} if frames_given else set())
    found = _checkpoint_settings(checkpoint, checkpoint_name)
    changes = {key: found[key] for key in ('num_frame',) + _ARCHITECTURE if key in found}
    for key in ('num_frame',) + _ARCHITECTURE:          # a fixed order: the first difference is reported
        if key in given and key in changes and changes[key] != getattr(requested, key):
            raise UserError(_refusal(key, getattr(requested, key), changes[key], checkpoint_name),
                            setting=ModelConfig.SETTING_NAMES.get(key, key))
    channels = changes.get('embed_dim_ratio', requested.embed_dim_ratio)
    heads = changes.get('num_heads', requested.num_heads)
    if channels % heads:
        raise UserError(f'{heads}: checkpoint {checkpoint_name} has {channels} channels per joint, which '
                        f'{heads} attention heads cannot share equally; ask for a head count that divides '
                        f'{channels}', setting='num_heads')
    return requested.replace(**changes)


def _refusal(key, asked, found, checkpoint_name):
    """The message refusing a requested model setting that differs from the checkpoint's."""
    what = (f'{found} frames' if key == 'num_frame' else
            f'{key} {found}' + (' (a centred model)' if key == 'causal' and not found else ''))
    value = 'given, but' if isinstance(asked, bool) else f'{asked}:'
    return (f'{value} checkpoint {checkpoint_name} was trained with {what}, and a trained model\'s architecture '
            f'cannot change; leave the setting out to follow the checkpoint, or give its value')


def model_for_run(requested: ModelConfig, checkpoint, checkpoint_name, frames_given: bool, seed: int,
                  given=()) -> PoseTransformer:
    """The PoseTransformer of a run, with the checkpoint's weights when there is one.

    The configuration is `resolve_model_config`'s (`given`: the settings chosen explicitly);
    ``torch.manual_seed(seed)`` is called right
    before construction, so a model without checkpoint starts from the same random weights every
    time. The weights load strictly (`load_model_weights`): a checkpoint trained with another frame
    count than the requested one is a UserError with setting ``number_of_frames``.
    """
    config = resolve_model_config(requested, checkpoint, frames_given, checkpoint_name, given=given)
    torch.manual_seed(seed)
    model = PoseTransformer(**config)
    if checkpoint is not None:
        load_model_weights(model, checkpoint['model_pos'], checkpoint_name, frames_given=frames_given)
        broken = [name for name, value in model.state_dict().items()
                  if value.is_floating_point() and not torch.isfinite(value).all()]
        if broken:
            raise UserError(f'checkpoint {checkpoint_name} holds non-finite weights (NaN or infinity) in '
                            f'{len(broken)} tensor(s), e.g. {", ".join(broken[:3])}: the training that wrote it '
                            'diverged; use an earlier checkpoint of that run or train again with a lower '
                            'learning rate')
    return model


def records_head_count(checkpoint):
    """Whether a loaded checkpoint states its attention head count (ours do; the released files do not)."""
    return bool(checkpoint.get('config')) and 'num_heads' in checkpoint['config']



def checkpoint_layouts(checkpoint, checkpoint_name=None):
    """(joints, keypoints, stored): the layout names a loaded checkpoint was trained on.

    ``stored`` is False for files that do not record them (the released ones, ours written before
    layouts were stored); their names are then `ASSUMED_LAYOUTS`' for the joint count (None, None
    for another count).
    """
    return _layouts(_checkpoint_settings(checkpoint, checkpoint_name)['num_joints'], checkpoint.get('layouts'))


def _layouts(num_joints, layouts):
    if layouts:
        return layouts['joints'], layouts['keypoints'], True
    return (*ASSUMED_LAYOUTS.get(num_joints, (None, None)), False)


def check_data_fit(checkpoint, checkpoint_name, data_name, joints, keypoints):
    """Refuse data a checkpoint cannot lift; return the notes (str, no trailing period) to show.

    Args:
        checkpoint: a loaded checkpoint dict.
        checkpoint_name: named in messages.
        data_name: the dataset's name (the value of the ``dataset`` setting).
        joints, keypoints: the data's `JointLayout` of its 3D poses and of its 2D keypoints
            (``DataBundle.joints`` / ``DataBundle.keypoints``).

    Raises:
        UserError (setting ``dataset``): the checkpoint lifts another number of joints than the
            data's keypoints have, or it records a joint or keypoint layout other than the data's.
    """
    return check_layout_fit(checkpoint_name, _checkpoint_settings(checkpoint, checkpoint_name)['num_joints'],
                            checkpoint.get('layouts'), data_name, joints, keypoints)


def check_layout_fit(name, num_joints, layouts, data_name, joints, keypoints, kind='checkpoint'):
    """`check_data_fit` for any model file: ``num_joints`` it lifts, ``layouts`` it records (or None).

    ``name``: the file, ``kind``: what it is (``'checkpoint'``, ``'ONNX model'``), both named in messages;
    an exported ONNX model records the checkpoint's layouts in its metadata (`common.streaming.onnx_model`).
    """
    model_name = f'{kind} {name}'
    ck_joints, ck_keypoints, stored = _layouts(num_joints, layouts)
    data = f"{joints.name!r} joints from {keypoints.name!r} keypoints"
    if num_joints != keypoints.num_joints:
        trained = f" (trained on {ck_joints!r} joints)" if stored else \
            (f" (presumably {ck_joints!r} joints)" if ck_joints else '')
        raise UserError(f'{data_name}: {model_name} lifts {num_joints} joints{trained}, but this data has '
                        f'{keypoints.num_joints} ({data}): evaluate it on data of its own layout, or train a model '
                        'on this dataset', setting='dataset')
    if stored:
        if (ck_joints, ck_keypoints) != (joints.name, keypoints.name):
            raise UserError(f"{data_name}: {model_name} was trained on {ck_joints!r} joints from "
                            f"{ck_keypoints!r} keypoints, this data has {data}: the same number of joints but not "
                            "the same joints, so its predictions would be meaningless; use data in the model's "
                            'layout, or train a model on this dataset', setting='dataset')
        return []
    note = describe_layouts(name, num_joints, layouts)
    if ck_joints is None:
        return [note + f'; assuming it was trained on data like this one ({data})']
    if (ck_joints, ck_keypoints) == (joints.name, keypoints.name):
        return [note + ', as this data']
    return [note + f'; this data has {data}: the predictions are meaningless unless the file was trained on '
            'such data']


def layout_description(checkpoint, checkpoint_name):
    """What a loaded checkpoint says of its layouts (stored) or which ones are assumed (released files), one phrase."""
    return describe_layouts(checkpoint_name, _checkpoint_settings(checkpoint, checkpoint_name)['num_joints'],
                            checkpoint.get('layouts'))


def describe_layouts(name, num_joints, layouts):
    """`layout_description` of a model that lifts ``num_joints`` and records ``layouts`` (or None)."""
    joints, keypoints, stored = _layouts(num_joints, layouts)
    if stored:
        return f'{name} was trained on {joints!r} joints from {keypoints!r} keypoints'
    if joints is None:
        return f'{name} does not record its joint layout'
    return (f'{name} does not record its joint layout (released files do not); assuming {joints!r} '
            f'joints and {keypoints!r} keypoints')


def model_from_checkpoint(path, device='cpu', checkpoint=None, num_heads=None):
    """The ``PoseTransformer`` saved in checkpoint ``path``, with its weights, in eval mode on ``device``.

    The architecture is the checkpoint's (`common.model.loading.model_for_run`: its stored settings,
    or for a released file those its weights show, with ``num_heads`` heads, 8 by default; for our
    files a ``num_heads`` other than the stored one is refused). ``checkpoint``: the file already
    loaded by ``common.io.checkpoint.load_checkpoint`` (then it is not read again).
    Raises UserError for a missing, unreadable or non-PoseFormer file.
    """
    from common.io.checkpoint import load_checkpoint
    if checkpoint is None:
        checkpoint = load_checkpoint(path)
    # the width is the checkpoint's in any case: the request only has to be a valid configuration
    requested = ModelConfig() if num_heads is None else ModelConfig(embed_dim_ratio=num_heads, num_heads=num_heads)
    model = model_for_run(requested, checkpoint, path, frames_given=False, seed=0,
                          given=() if num_heads is None else ('num_heads',))
    return model.to(device).eval()
