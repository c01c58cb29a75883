"""Several training processes (torchrun): who am I, which device is mine, and sums, gathers and
broadcasts across ranks.

torchrun starts one process per device and tells each its place through the environment
(``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``). A process on CUDA takes the GPU
``cuda:LOCAL_RANK`` (its index among the processes of its own machine: with several machines,
``RANK`` counts over all of them) and talks over NCCL; on the CPU every process talks over gloo. Without
torchrun (``WORLD_SIZE`` unset or 1) nothing is initialised and the context is rank 0 of 1.
"""
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from common.errors import UserError


@dataclass(frozen=True)
class DistributedContext:
    """This process's place among the training processes, and the device it computes on."""
    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device('cpu'))

    @property
    def is_main(self):
        """Rank 0 prints, evaluates and writes checkpoints."""
        return self.rank == 0


def setup_distributed(device):
    """Join the process group when started by torchrun; return this process's context.

    `device`: the device type chosen for the run (``torch.device('cuda')`` or ``'cpu'``). On CUDA
    with several processes, each process takes ``cuda:LOCAL_RANK`` (made current) and NCCL; more
    processes on a machine than it has GPUs is a UserError raised by every process before any of
    them waits for the others.
    """
    device = torch.device(device)
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    if world_size <= 1:
        return DistributedContext(device=device)
    import torch.distributed as dist
    if device.type == 'cuda':
        local_rank = int(os.environ.get('LOCAL_RANK', '0'))
        per_machine = int(os.environ.get('LOCAL_WORLD_SIZE', world_size))
        gpus = torch.cuda.device_count()
        if per_machine > gpus:
            raise UserError(f'{device.type}: {per_machine} training processes on this machine but only {gpus} '
                            f'CUDA device(s); start at most {gpus} process(es) per machine, one per GPU, '
                            f'or train the processes on the CPU', setting='device')
        device = torch.device('cuda', local_rank)
        torch.cuda.set_device(device)
    # torchrun keeps one key-value store for all its restarts (up to its restart count): with the plain env://
    # start, a restarted process group would read the keys its killed predecessor wrote there (gloo's
    # addresses) and connect to dead processes. Each attempt (TORCHELASTIC_RESTART_COUNT) gets keys of its own.
    store, rank, world_size = next(dist.rendezvous('env://'))
    attempt = os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')
    dist.init_process_group(backend='nccl' if device.type == 'cuda' else 'gloo',
                            store=dist.PrefixStore(f'poseformer/attempt_{attempt}', store), rank=rank,
                            world_size=world_size)
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)


def teardown_distributed(context, together=False):
    """Leave the process group (no-op for a single process, or once left).

    ``together``: first wait for every rank (a barrier), so that all leave at the same moment: the end
    of training, before the main process evaluates alone. Leaving is collective for the backends: a
    rank that left while another went on working aborted at exit now and then (gloo, 2 ranks on a busy
    CPU: "terminate called without an active exception", then torchrun stopped the main process in
    its final evaluation). Without ``together`` (an error or a signal unwinds) nobody is waited for.
    """
    if context.world_size > 1:
        import torch.distributed as dist
        if not dist.is_initialized():
            return
        if together:
            dist.barrier()
        dist.destroy_process_group()


def broadcast_from_main(value, context):
    """Rank 0's `value` (any picklable object) on every process; a single process returns it unchanged."""
    if context.world_size <= 1:
        return value
    import torch.distributed as dist
    box = [value if context.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_on_main(value, context):
    """Every rank's `value` (picklable), as a list indexed by rank, on rank 0; None on the others.

    A single process gets ``[value]``.
    """
    if context.world_size <= 1:
        return [value]
    import torch.distributed as dist
    gathered = [None] * context.world_size if context.is_main else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def sum_over_ranks(values, context):
    """Sum a tensor over all processes (in place, returned); a single process returns it unchanged."""
    if context.world_size > 1:
        import torch.distributed as dist
        dist.all_reduce(values)
    return values


def unwrap_model(model):
    """The module inside ``DataParallel`` / ``DistributedDataParallel`` wrappers (or `model` itself).

    Wrappers prefix every state_dict key with ``module.`` and hide the model's own attributes
    (``config``, ``num_frame``, ...); unwrap before saving or reading those. (Here, with the process
    group, so that saving a checkpoint does not import the model package.)
    """
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model
