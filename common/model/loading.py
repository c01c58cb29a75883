"""The model of a run: which configuration wins when settings are requested AND a checkpoint is given.

One rule (`resolve_model_config`), used by training, evaluation and every tool:

* no checkpoint: the requested configuration;
* a checkpoint fixes the architecture: ``num_joints``, ``in_chans``, ``embed_dim_ratio``, ``depth``,
  ``mlp_ratio``, ``qkv_bias``, ``num_heads`` and ``causal`` (files without it are centred) come from its stored ``config`` (files we write) or,
  for the official release files, from its weights' shapes; those cannot show the head count, so
  a release file keeps the requested ``num_heads`` (8 by default, as released);
* ``num_frame`` follows the checkpoint unless the frame count was explicitly requested; then the
  requested count is built and the strict load reports a checkpoint trained with another one;
* dropout and stochastic-depth rates are always the requested ones (they change no weight).
"""
import torch

from common.errors import UserError
from common.model.config import ModelConfig
from common.model.poseformer import PoseTransformer
from common.model.release import load_model_weights, settings_from_weights

__all__ = ["resolve_model_config", "model_for_run", "records_head_count"]

# settings a checkpoint decides (besides num_frame, which it decides unless frames were requested)
_ARCHITECTURE = ('num_joints', 'in_chans', 'embed_dim_ratio', 'depth', 'num_heads', 'mlp_ratio', 'qkv_bias',
                 'causal')


def _checkpoint_settings(checkpoint, checkpoint_name):
    """The stored ``config`` of one of our files, else what a release file's weights show."""
    stored = checkpoint.get('config')
    if stored:
        return {'causal': False, **stored}      # our files store ``causal`` only when it is True
    return settings_from_weights(checkpoint['model_pos'], checkpoint_name)


def resolve_model_config(requested: ModelConfig, checkpoint, frames_given: bool, checkpoint_name=None) -> ModelConfig:
    """The configuration to build: `requested` where no checkpoint decides (see the module doc).

    Args:
        requested: the settings asked for (defaults included).
        checkpoint: a loaded checkpoint dict (``common.io.checkpoint.load_checkpoint``) or None.
        frames_given: whether ``requested.num_frame`` was chosen explicitly (not a default).
        checkpoint_name: named in error messages.

    Raises:
        UserError (setting ``num_heads``): a release checkpoint's joint embedding cannot be split
            into the requested number of heads; or the checkpoint is not a PoseFormer model.
    """
    if checkpoint is None:
        return requested
    found = _checkpoint_settings(checkpoint, checkpoint_name)
    changes = {key: found[key] for key in _ARCHITECTURE if key in found}
    if not frames_given:
        changes['num_frame'] = found['num_frame']
    channels = changes.get('embed_dim_ratio', requested.embed_dim_ratio)
    heads = changes.get('num_heads', requested.num_heads)
    if channels % heads:
        raise UserError(f'{heads}: checkpoint {checkpoint_name} has {channels} channels per joint, which '
                        f'{heads} attention heads cannot share equally; ask for a head count that divides '
                        f'{channels}', setting='num_heads')
    return requested.replace(**changes)


def model_for_run(requested: ModelConfig, checkpoint, checkpoint_name, frames_given: bool, seed: int) -> PoseTransformer:
    """The PoseTransformer of a run, with the checkpoint's weights when there is one.

    The configuration is `resolve_model_config`'s; ``torch.manual_seed(seed)`` is called right
    before construction, so a model without checkpoint starts from the same random weights every
    time. The weights load strictly (`load_model_weights`): a checkpoint trained with another frame
    count than the requested one is a UserError with setting ``number_of_frames``.
    """
    config = resolve_model_config(requested, checkpoint, frames_given, checkpoint_name)
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

