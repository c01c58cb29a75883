"""The training loop, as the reference implementation, on one process or many (torchrun / DDP).

Per epoch: shuffled (centre frame, flip) examples of F-frame windows, batch = `batch_size`
predicted frames, MPJPE loss on root-zeroed targets, AdamW(lr, weight_decay=0.1), then the shared
evaluation routine on the test set (3d_valid, flip TTA), `lr *= lr_decay`, checkpoints.

GPU first: the training set lives on the device (`common.windows.TrainingWindows`), each batch is
gathered there, and the loss is summed there and read once per epoch, so a step never waits for
the host. On CUDA: TF32 matmuls in the training steps by default, fused AdamW, optional bf16 autocast (`amp`) and
`torch.compile` of the whole loss computation (forward, loss and, through AOTAutograd, backward).
In fp32 on the CPU the numbers are those of the reference loop to the last bit.

Checkpoints (main process, after each epoch, into the `common.io.checkpoint_folder.CheckpointFolder` of
``checkpoint_dir``, which owns their names): ``best_epoch.bin`` when the validation error
improves, ``epoch_N.bin`` every ``checkpoint_frequency`` epochs (the official files) and
``last_epoch.bin`` every epoch, so the latest state is never lost. All are written atomically.
Resuming from any of them restores weights, optimizer, epoch, lr, the loss history and every RNG
state (sampler, torch, numpy, python; with several processes each rank's own, gathered by rank 0),
so a run stopped after epoch k and resumed ends bitwise
equal to the uninterrupted run on the CPU, and on CUDA with ``deterministic`` (see
`common.numerics`). Each file also records the run's settings (``TrainConfig.settings``, plain data
chosen by the caller: `common.io.checkpoint_folder.run_settings`) so that a caller can tell whether a folder's
run is the one it would continue (`CheckpointFolder.check_same_run`). Holding the checkpoint folder for one
run is the caller's job (`CheckpointFolder.claim`).

Divergence: the epoch's summed loss (read once per epoch anyway) and the weights are checked
before any evaluation or checkpoint; a non-finite value stops training with a `UserError` naming
the epoch and the first bad batch, and the checkpoints of earlier epochs stay as they were.

Multi-process: every rank builds the same shuffled order and takes a disjoint slice of each global
batch; the loss of a slice is scaled so that DDP's gradient average equals the single-process
gradient of the whole batch. Only rank 0 prints, evaluates and writes.

Units: losses and errors are metres inside (`TrainingState`); the epoch line prints mm.
"""
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from common.distributed import DistributedContext, gather_on_main, sum_over_ranks
from common.errors import UserError
from common.evaluation import EvalOptions, evaluate
from common.experiment_log import LEARNING_RATE, SAMPLES_PER_S, TRAIN_EVAL_MPJPE, TRAIN_MPJPE, VALID_MPJPE
from common.io.checkpoint import save_checkpoint
from common.io.checkpoint_folder import (BEST_CHECKPOINT, LAST_CHECKPOINT, SETTINGS_VERSION, CheckpointFolder,
                                         epoch_checkpoint)
from common.io.rng import capture_rng_state, restore_rng_state
from common.metrics import MM_PER_M, mpjpe
from common.numerics import amp_stages, bf16_autocast, training_numerics
from common.progress import progress_bar
from common.windows import TrainingWindows

WEIGHT_DECAY = 0.1


@dataclass(frozen=True)
class TrainConfig:
    """How to train (the model's shape comes with the model, the data with the bundle).

    ``validate``: evaluate the test set after every epoch (``validation`` says how: TTA, batch
    size; its device comes from the run); ``eval_train``: also evaluate the training set without
    TTA (the official ``3d_eval`` column). ``amp``: bf16 autocast (`common.numerics.amp_stages`);
    ``tf32``: TF32 matmuls on CUDA; ``deterministic``: bitwise repeatable on CUDA too (slower);
    ``compile``: `torch.compile` the step's forward + loss (+ backward). ``settings``: plain data
    ({name: value}) describing the run, recorded in every checkpoint (``extra['settings']``) and
    compared by `CheckpointFolder.check_same_run`; it changes nothing in the training itself. ``provenance``: plain data
    stored as ``extra['provenance']`` in every checkpoint (the program's command, seed and data).
    """
    epochs: int
    batch_size: int = 512
    learning_rate: float = 1e-4
    lr_decay: float = 0.99
    augment: bool = True
    checkpoint_dir: str = 'checkpoint'
    checkpoint_frequency: int = 10
    validate: bool = True
    eval_train: bool = False
    seed: int = 1234
    amp: bool = False
    tf32: bool = True
    deterministic: bool = False
    compile: bool = False
    validation: EvalOptions = field(default_factory=EvalOptions)
    settings: dict = field(default_factory=dict, hash=False)
    provenance: dict = field(default=None, hash=False)     # how the run was made (command, seed, data)

    # `common.io.checkpoint_folder.run_settings`: how long, where, which epochs are kept, compilation and the
    # validation's batching do not change what is computed (its tta is recorded on its own)
    NOT_RECORDED = ('epochs', 'checkpoint_dir', 'checkpoint_frequency', 'compile', 'validation', 'settings',
                    'provenance')
    SETTING_NAMES = {'augment': 'data_augmentation'}


@dataclass
class TrainingState:
    """Everything needed to continue a run: restored from and stored into checkpoints."""
    epoch: int
    lr: float
    sampler: np.random.RandomState
    history: dict        # 'train', 'valid', 'train_eval': lists of per-epoch errors in metres
    best_valid: float    # best validation MPJPE so far, metres


def new_state(config):
    """The state before epoch 1 of a fresh run of `config` (a TrainConfig)."""
    return TrainingState(epoch=0, lr=config.learning_rate, sampler=np.random.RandomState(config.seed),
                         history={'train': [], 'valid': [], 'train_eval': []}, best_valid=float('inf'))


def state_from_checkpoint(checkpoint, optimizer, seed, context=DistributedContext()):
    """Restore the training state (and RNGs, optimizer) from a checkpoint.

    A file written by a run of as many processes as `context`'s carries each rank's RNG states
    (``extra['rank_rng_states']``): this process takes its own rank's, so that its random draws
    (stochastic depth) continue as in the uninterrupted run; otherwise every rank takes rank 0's.
    Our files carry every RNG state (`rng_state`, used first) and, for the official script, the
    sampler's RandomState (`random_state`); a release file carries only the latter, which is then
    used as the official script does; otherwise the sampler starts from `seed`. The file's ``extra['best_valid']`` is in mm (see `_checkpoint_extra`).
    """
    sampler = np.random.RandomState(seed)
    if 'optimizer' in checkpoint:
        optimizer.load_state_dict(checkpoint['optimizer'])
    extra = checkpoint.get('extra', {}) or {}
    per_rank = extra.get('rank_rng_states')
    if per_rank and len(per_rank) == context.world_size:
        restore_rng_state(per_rank[context.rank], sampler)
    elif checkpoint.get('rng_state') is not None:
        restore_rng_state(checkpoint['rng_state'], sampler)
    elif isinstance(checkpoint.get('random_state'), np.random.RandomState):
        sampler.set_state(checkpoint['random_state'].get_state())
    history = {'train': [], 'valid': [], 'train_eval': []}
    history.update({k: list(v) for k, v in extra.get('history', {}).items()})
    best_valid = float(extra.get('best_valid', float('inf'))) / MM_PER_M
    return TrainingState(epoch=int(checkpoint['epoch']), lr=float(checkpoint['lr']), sampler=sampler,
                         history=history, best_valid=best_valid)


def make_optimizer(model, lr, device):
    """AdamW(lr, weight decay 0.1) as the reference; the fused single-kernel version on CUDA.

    On the CPU the default (per-parameter loop) implementation is kept: its numbers are the
    reference's to the last bit.
    """
    fused = torch.device(device).type == 'cuda'
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=WEIGHT_DECAY, **({'fused': True} if fused else {}))


class PoseLoss(nn.Module):
    """MPJPE of a PoseTransformer on one batch: inputs (B, F, J, 2) -> scalar loss in metres.

    The module that DDP wraps and `torch.compile` compiles: both stages with the device's bf16
    policy (`common.numerics.amp_stages`), the prediction cast to fp32, MPJPE against the
    root-relative targets (B, 1, J, 3) metres.
    """

    def __init__(self, net, device, amp=False):
        super().__init__()
        self.net = net
        self.device_type = torch.device(device).type
        self.amp_spatial, self.amp_temporal = amp_stages(device, amp)

    def forward(self, inputs, targets):
        with bf16_autocast(self.device_type, self.amp_spatial):
            feats = self.net.forward_spatial(inputs)            # (B, F, J*c)
        with bf16_autocast(self.device_type, self.amp_temporal):
            predicted = self.net.forward_temporal(feats)       # (B, 1, J, 3)
        return mpjpe(predicted.float(), targets)


class TrainingStep:
    """One optimisation step on a batch, for one process of `context`; no host synchronisation.

    ``step(inputs, targets, global_batch)`` returns the detached local loss (a 0-d tensor on the
    device). The loss is scaled by ``local * world_size / global_batch`` before backward so that
    DDP's mean over ranks equals the mean over the global batch. ``compile``: False, True, or a
    `torch.compile` mode (e.g. ``'reduce-overhead'``: CUDA graphs).
    """

    def __init__(self, net, optimizer, device, context=DistributedContext(), amp=False, compile=False):
        if isinstance(net, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            raise TypeError('TrainingStep: pass the plain PoseTransformer; training wraps it for DDP itself')
        self.optimizer = optimizer
        self.world_size = context.world_size
        loss = PoseLoss(net, device, amp=amp)
        if context.world_size > 1:
            device_ids = [context.device] if context.device.type == 'cuda' else None
            loss = nn.parallel.DistributedDataParallel(loss, device_ids=device_ids)
        if compile:
            loss = torch.compile(loss, mode=compile if isinstance(compile, str) else None)
        self.loss = loss

    def __call__(self, inputs, targets, global_batch):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(inputs, targets)
        local = targets.shape[0]
        (loss * local * self.world_size / global_batch).backward()
        self.optimizer.step()
        return loss.detach()


def train(model, optimizer, bundle, state, config, device, context=DistributedContext(), log=print, progress=False,
          on_epoch_end=None, experiment_log=None):
    """Train the plain `model` (a PoseTransformer on `device`) from `state.epoch` to `config.epochs`.

    `bundle`: a `common.data.types.DataBundle` (training sequences, symmetry, scoring protocol);
    `context`: from `common.distributed.setup_distributed` (several processes: DDP is applied
    here). Returns the final state. `on_epoch_end(state)` runs on the main process after each
    epoch's checkpoints (e.g. to draw training curves). `experiment_log` (a
    `common.experiment_log.ExperimentLog`, main process): each epoch's numbers (`EPOCH_SCALARS`).

    Raises:
        UserError (setting ``epochs``): a resumed `state` is already at or past ``config.epochs``.
        UserError (setting ``learning_rate``): the loss or the weights became non-finite; nothing
            of that epoch is written.
    """
    check_epochs_left(state, config)
    device = torch.device(device)
    windows = TrainingWindows(bundle.train, model.num_frame, bundle.kps_left, bundle.kps_right,
                              bundle.joints_left, bundle.joints_right, augment=config.augment,
                              root=bundle.protocol.root, device=device, causal=model.causal)
    step = TrainingStep(model, optimizer, device, context, amp=config.amp, compile=config.compile)
    validation = replace(config.validation, device=device, amp=config.amp, progress=progress, metrics=('mpjpe',))
    while state.epoch < config.epochs:
        start = time.time()
        model.train()
        order = windows.epoch_order(state.sampler)
        # float64 sums on the device, in the order the reference adds them on the host.
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        batch_losses = []      # each batch's weighted loss (0-d, device): read only if the sum is not finite
        frames = 0
        batches = windows.batches(order, config.batch_size, context.rank, context.world_size)
        bar = progress_bar(batches, enabled=progress and context.is_main,
                           total=windows.num_batches(config.batch_size), desc=f'epoch {state.epoch + 1}', unit='batch')
        with training_numerics(device, tf32=config.tf32, deterministic=config.deterministic):
            for inputs_2d, targets, global_batch in bar:
                loss = step(inputs_2d, targets, global_batch)
                local = targets.shape[0]
                weighted = loss.double() * local
                loss_sum += weighted
                batch_losses.append(weighted)
                frames += local
        totals = sum_over_ranks(torch.stack([loss_sum, torch.tensor(float(frames), dtype=torch.float64,
                                                                     device=device)]), context)
        train_loss = (totals[0] / totals[1]).item()     # the epoch's one host sync of the loss
        samples_per_s = totals[1].item() / max(time.time() - start, 1e-9)   # all processes, steps only
        _check_finite(model, train_loss, batch_losses, state.epoch + 1, config.learning_rate)
        state.history['train'].append(train_loss)

        valid_mm = None
        if config.validate and context.is_main:
            valid_mm = evaluate(model, bundle.test, bundle.symmetry, bundle.protocol,
                                validation).frame_weighted['mpjpe']
            state.history['valid'].append(valid_mm / MM_PER_M)
            if config.eval_train:
                result_train = evaluate(model, bundle.train, bundle.symmetry, bundle.protocol,
                                        replace(validation, tta=False))
                state.history['train_eval'].append(result_train.frame_weighted['mpjpe'] / MM_PER_M)
        elapsed = (time.time() - start) / 60
        if context.is_main:
            log(_epoch_line(state, elapsed, train_loss, valid_mm, config.eval_train))
            if experiment_log is not None:
                experiment_log.log_epoch(state.epoch + 1, {
                    TRAIN_MPJPE: train_loss * MM_PER_M, LEARNING_RATE: state.lr,
                    SAMPLES_PER_S: samples_per_s, VALID_MPJPE: valid_mm,
                    TRAIN_EVAL_MPJPE: state.history['train_eval'][-1] * MM_PER_M
                    if config.eval_train and valid_mm is not None else None})

        state.lr *= config.lr_decay
        for group in optimizer.param_groups:
            group['lr'] *= config.lr_decay
        state.epoch += 1

        # Every rank's generators (they drift apart: each draws for its own slice of the batches).
        rank_rng = gather_on_main(capture_rng_state(state.sampler), context) if context.world_size > 1 else None
        if context.is_main:
            layouts = bundle.layout_names                   # stored so that other data is refused later
            improved = valid_mm is not None and valid_mm / MM_PER_M < state.best_valid
            if improved:
                state.best_valid = valid_mm / MM_PER_M
            extra = _checkpoint_extra(state, config, rank_rng)
            folder = CheckpointFolder(config.checkpoint_dir)
            if improved:
                _write_checkpoint(folder.file(BEST_CHECKPOINT), model, optimizer, state, extra, layouts)
            if state.epoch % config.checkpoint_frequency == 0:
                _write_checkpoint(folder.file(epoch_checkpoint(state.epoch)), model, optimizer, state, extra, layouts)
            _write_checkpoint(folder.file(LAST_CHECKPOINT), model, optimizer, state, extra, layouts)
            if on_epoch_end is not None:
                on_epoch_end(state)
    return state


def check_epochs_left(state, config):
    """Raise a UserError (setting ``epochs``) when a resumed `state` has no epoch left to train.

    ``config.epochs`` is the total epoch count, as the official program's: a run resumed at epoch k
    trains epochs k+1 .. epochs.
    """
    if state.epoch > 0 and state.epoch >= config.epochs:
        raise UserError(f'{config.epochs}: the checkpoint is already at epoch {state.epoch} of {config.epochs}, so '
                        f'there is nothing left to train; the epoch count is the total, so ask for more than '
                        f'{state.epoch} epochs to continue (or evaluate the checkpoint)', setting='epochs')


def _check_finite(model, train_loss, batch_losses, epoch, learning_rate):
    """Stop with a UserError when the epoch's loss or the model's weights are not finite (nan / inf).

    Called on every process before any evaluation or checkpoint of the epoch, so no non-finite
    weights are ever written. ``batch_losses``: this process's per-batch weighted losses (0-d
    device tensors), searched for the first bad batch only when the loss is not finite.
    """
    if math.isfinite(train_loss):
        weights_finite = torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all().item()
        if weights_finite:
            return
        where = f'the weights became non-finite during epoch {epoch} (the loss was still finite)'
    else:
        bad = torch.nonzero(~torch.isfinite(torch.stack(batch_losses))).flatten() if batch_losses else []
        batch = f'batch {int(bad[0]) + 1} of {len(batch_losses)}' if len(bad) else 'a batch of another process'
        where = f'the training loss became {train_loss} in epoch {epoch} (first at {batch})'
    raise UserError(f'{learning_rate:g}: training stopped because {where}; nothing of this epoch was saved and '
                    f'the checkpoints of earlier epochs are kept. Lower the learning rate, or check the training '
                    f'data for non-finite or extreme values', setting='learning_rate')


def _epoch_line(state, elapsed_min, train_loss, valid_mm, eval_train):
    """The official per-epoch line: time in minutes, errors in mm."""
    line = f'[{state.epoch + 1}] time {elapsed_min:.2f} lr {state.lr:f} 3d_train {train_loss * MM_PER_M:f}'
    if eval_train and valid_mm is not None:
        line += f' 3d_eval {state.history["train_eval"][-1] * MM_PER_M:f}'
    if valid_mm is not None:
        line += f' 3d_valid {valid_mm:f}'
    return line


def _write_checkpoint(path, model, optimizer, state, extra, layouts=None):
    save_checkpoint(path, epoch=state.epoch, lr=state.lr, model=model,
                    optimizer=optimizer, config=model.config, rng_state=capture_rng_state(state.sampler),
                    random_state=state.sampler, extra=extra, layouts=layouts)


def _checkpoint_extra(state, config, rank_rng_states=None):
    """The file's ``extra``: history in metres and, as files have always stored it, best_valid in mm; the
    run's settings and provenance (command, seed, data); with several processes, each rank's RNG states
    (a list indexed by rank)."""
    extra = {'history': state.history, 'best_valid': state.best_valid * MM_PER_M, 'settings': dict(config.settings),
             'settings_version': SETTINGS_VERSION}
    if config.provenance is not None:
        extra['provenance'] = config.provenance
    if rank_rng_states is not None:
        extra['rank_rng_states'] = rank_rng_states
    return extra
