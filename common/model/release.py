"""Weights of the official release (and of our checkpoints) into a `PoseTransformer`.

The release files store ``model_pos``: the model's state_dict saved through ``DataParallel``, so every
key starts with ``module.``. Nothing else in them describes the model; its settings are read from
the weights' shapes (`settings_from_weights`), except the head count, which no shape shows.
`load_model_weights` loads strictly and, when the checkpoint does not fit the model, says by name
what differs instead of PyTorch's long ``load_state_dict`` error.
"""
from collections import OrderedDict

import torch

from common.distributed import unwrap_model
from common.errors import UserError

__all__ = ["strip_module_prefix", "settings_from_weights", "load_model_weights"]


def strip_module_prefix(state_dict):
    """Remove a leading ``module.`` (added by DataParallel / DDP) from every key that has one."""
    return OrderedDict((k[len("module."):] if k.startswith("module.") else k, v)
                       for k, v in state_dict.items())


def settings_from_weights(state_dict, checkpoint_name=None):
    """The model settings that a PoseFormer state_dict's shapes show (``module.`` prefix optional).

    Returns a dict with ``num_frame`` (``Temporal_pos_embed.shape[1]``), ``num_joints`` and
    ``embed_dim_ratio`` (``Spatial_pos_embed`` shape), ``in_chans``, ``depth`` (number of temporal
    blocks), ``mlp_ratio`` and ``qkv_bias``. There is no ``num_heads``: the weights of a model
    with 8 heads and of one with 4 have the same shapes.

    Raises:
        UserError: the weights lack PoseFormer's embeddings (not a PoseFormer model).
    """
    sd = strip_module_prefix(state_dict)
    where = f"checkpoint {checkpoint_name}" if checkpoint_name else "state_dict"
    needed = ("Temporal_pos_embed", "Spatial_pos_embed", "Spatial_patch_to_embedding.weight")
    absent = [k for k in needed if k not in sd]
    if absent:
        raise UserError(f"{where} is not a PoseFormer model: it lacks {', '.join(absent)}")
    _, num_frame, width = sd["Temporal_pos_embed"].shape           # (1, F, J*c)
    _, num_joints, ratio = sd["Spatial_pos_embed"].shape            # (1, J, c)
    depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    fc1 = sd.get("blocks.0.mlp.fc1.weight")                         # (mlp_ratio*J*c, J*c)
    return {
        "num_frame": int(num_frame),
        "num_joints": int(num_joints),
        "in_chans": int(sd["Spatial_patch_to_embedding.weight"].shape[1]),
        "embed_dim_ratio": int(ratio),
        "depth": int(depth),
        "mlp_ratio": float(fc1.shape[0]) / float(width) if fc1 is not None else 2.0,
        "qkv_bias": "blocks.0.attn.qkv.bias" in sd,
    }


def _fmt_shape(shape):
    return "\u00d7".join(str(int(s)) for s in shape)


def _listing(title, items, limit=12):
    shown = list(items)[:limit]
    more = len(items) - len(shown)
    text = f"\n  {title} ({len(items)}): " + ", ".join(shown)
    return text + (f", ... and {more} more" if more > 0 else "")


def load_model_weights(model, state_dict, checkpoint_name, frames_given=False):
    """Load ``state_dict`` into ``model`` strictly, or raise a UserError that says what differs.

    Args:
        model: PoseTransformer (may be DataParallel / DDP-wrapped).
        state_dict: e.g. ``checkpoint['model_pos']``; ``module.`` prefixes are stripped.
        checkpoint_name: named in error messages.
        frames_given: whether the user chose the model's frame count; then a checkpoint with
            another frame count is an error about that choice (setting ``number_of_frames``).

    Returns:
        ``model``. Raises UserError listing missing keys, unexpected keys and shape mismatches
        by name; a different number of frames gets one specific message.
    """
    net = unwrap_model(model)
    sd = strip_module_prefix(state_dict)
    expected = net.state_dict()
    not_tensors = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    mismatched = [k for k in expected if k in sd and k not in not_tensors
                  and tuple(sd[k].shape) != tuple(expected[k].shape)]

    frame_msg = ""
    key = "Temporal_pos_embed"
    if key in mismatched and sd[key].dim() == 3 and sd[key].shape[2] == expected[key].shape[2]:
        ckpt_f, model_f = int(sd[key].shape[1]), int(expected[key].shape[1])
        trained = (f"checkpoint {checkpoint_name} was trained with {ckpt_f} frames "
                   f"({key} {_fmt_shape(sd[key].shape)})")
        frame_msg = (f"{model_f}: {trained}; ask for {ckpt_f} frames or leave the number of frames "
                     "unset to follow the checkpoint" if frames_given else
                     f"{trained} but the model was built for {model_f} frames; build it with "
                     f"{ckpt_f} frames")
        mismatched = [k for k in mismatched if k not in (key, "weighted_mean.weight")]
    setting = "number_of_frames" if frame_msg and frames_given else None

    if not (missing or unexpected or mismatched or not_tensors):
        if frame_msg:
            raise UserError(frame_msg, setting=setting)
        net.load_state_dict(sd, strict=True)
        return model

    report = frame_msg + ("; also " if frame_msg else "") + \
        f"checkpoint {checkpoint_name} does not match the model:"
    if missing:
        report += _listing("missing in checkpoint", missing)
    if unexpected:
        report += _listing("unexpected in checkpoint", unexpected)
    if mismatched:
        report += _listing("shape mismatch (checkpoint vs model)", [
            f"{k} {_fmt_shape(sd[k].shape)} vs {_fmt_shape(expected[k].shape)}"
            for k in mismatched])
    if not_tensors:
        report += _listing("not tensors", not_tensors)
    try:
        found = settings_from_weights(sd, checkpoint_name)
        ours = getattr(net, "config", {})
        diffs = [f"{k}={v} (model: {ours[k]})" for k, v in found.items()
                 if k in ours and ours[k] != v]
        if diffs:
            report += "\n  the checkpoint was trained with " + ", ".join(diffs) + \
                "; build the model with the checkpoint's settings"
    except UserError:
        report += "\n  it does not look like a PoseFormer checkpoint at all"
    raise UserError(report, setting=setting)
