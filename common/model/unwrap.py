"""`unwrap_model`: the bare model inside the wrappers that data-parallel training adds."""
from torch import nn


def unwrap_model(model):
    """The module inside ``DataParallel`` / ``DistributedDataParallel`` wrappers (or `model` itself).

    Wrappers prefix every state_dict key with ``module.`` and hide the model's own attributes
    (``config``, ``num_frame``, ...); unwrap before saving or reading those.
    """
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model
