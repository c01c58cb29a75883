"""The training loop, as the reference implementation, on one process or many (torchrun / DDP).

Per epoch: shuffled (centre frame, flip) examples of F-frame windows, batch = `-b` predicted
frames, MPJPE loss on root-zeroed targets, AdamW(lr, weight_decay=0.1), then the shared
evaluation routine on the test set (3d_valid, flip TTA), `lr *= lrd`, checkpoints.

Resuming (`-r`) restores weights, optimizer, epoch, lr, the loss history and every RNG state
(sampler, torch, numpy, python), so a run stopped after epoch k and resumed ends bitwise equal to
the uninterrupted run on CPU.

Multi-process: every rank builds the same shuffled order and takes a disjoint slice of each global
batch of `-b` examples; the loss of a slice is scaled so that DDP's gradient average equals the
single-process gradient of the whole batch. Only rank 0 prints, evaluates and writes.
"""
import os
import time
from dataclasses import dataclass

import numpy as np
import torch

from common.io.checkpoint import capture_rng_state, restore_rng_state, save_checkpoint
from common.evaluation import EvalOptions, evaluate
from common.windows import TrainingWindows
from common.metrics import mpjpe
from common.progress import progress_bar


@dataclass
class DistributedContext:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self):
        return self.rank == 0


def setup_distributed(device):
    """Initialise torch.distributed when started by torchrun (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get('WORLD_SIZE', '1'))
    if world_size <= 1:
        return DistributedContext()
    import torch.distributed as dist
    backend = 'nccl' if device.type == 'cuda' else 'gloo'
    dist.init_process_group(backend=backend)
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size())


def teardown_distributed(context):
    if context.world_size > 1:
        import torch.distributed as dist
        dist.destroy_process_group()


@dataclass
class TrainingState:
    """Everything needed to continue a run: restored from and stored into checkpoints."""
    epoch: int
    lr: float
    sampler: np.random.RandomState
    history: dict        # 'train', 'valid', 'train_eval': lists of per-epoch losses in metres
    best_valid: float    # best 3d_valid so far (mm)


def new_state(args):
    return TrainingState(epoch=0, lr=args.learning_rate, sampler=np.random.RandomState(args.seed),
                         history={'train': [], 'valid': [], 'train_eval': []}, best_valid=float('inf'))


def state_from_checkpoint(checkpoint, optimizer, seed):
    """Restore the training state (and RNGs, optimizer) from a checkpoint.

    Our files carry every RNG state (`rng_state`); a release file carries the sampler's pickled
    RandomState (`random_state`), which is used as the official script does; otherwise the sampler
    starts from `seed`.
    """
    sampler = np.random.RandomState(seed)
    if 'optimizer' in checkpoint:
        optimizer.load_state_dict(checkpoint['optimizer'])
    extra = checkpoint.get('extra', {}) or {}
    if checkpoint.get('rng_state') is not None:
        restore_rng_state(checkpoint['rng_state'], sampler)
    elif isinstance(checkpoint.get('random_state'), np.random.RandomState):
        sampler.set_state(checkpoint['random_state'].get_state())
    history = {'train': [], 'valid': [], 'train_eval': []}
    history.update({k: list(v) for k, v in extra.get('history', {}).items()})
    return TrainingState(epoch=int(checkpoint['epoch']), lr=float(checkpoint['lr']), sampler=sampler,
                         history=history, best_valid=float(extra.get('best_valid', float('inf'))))


def train(args, model, optimizer, bundle, state, device, context, symmetry, log=print, progress=False,
          on_epoch_end=None):
    """Train `model` from `state.epoch` to `args.epochs`; returns the final state.

    `model` may be DDP-wrapped; the unwrapped module is evaluated and saved. `on_epoch_end(state)`
    runs on the main process after each epoch's checkpoints (e.g. to draw training curves).
    """
    net = model.module if hasattr(model, 'module') else model
    windows = TrainingWindows(bundle.train, net.num_frame, bundle.kps_left, bundle.kps_right,
                              bundle.joints_left, bundle.joints_right, augment=args.data_augmentation)
    checkpoint_dir = args.checkpoint
    while state.epoch < args.epochs:
        start = time.time()
        model.train()
        order = windows.epoch_order(state.sampler)
        total_loss, total_frames = 0.0, 0
        batches = windows.batches(order, args.batch_size, context.rank, context.world_size)
        bar = progress_bar(batches, enabled=progress and context.is_main, total=windows.num_batches(args.batch_size),
                           desc=f'epoch {state.epoch + 1}', unit='batch')
        for inputs_2d, targets, global_batch in bar:
            inputs_2d, targets = inputs_2d.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            targets[:, :, bundle.root] = 0
            optimizer.zero_grad(set_to_none=True)
            with _autocast(args, device):
                predicted = model(inputs_2d)
            loss = mpjpe(predicted.float(), targets)
            # Scale so that DDP's mean over ranks equals the mean over the global batch.
            local = targets.shape[0]
            (loss * local * context.world_size / global_batch).backward()
            optimizer.step()
            total_loss += local * loss.item()
            total_frames += local
        train_loss = _reduce_mean(total_loss, total_frames, context, device)
        state.history['train'].append(train_loss)

        valid_mm = None
        if not args.no_eval and context.is_main:
            options = EvalOptions(tta=args.test_time_augmentation, batch_size=args.eval_batch_size, device=device,
                                  amp=args.amp, progress=progress, metrics=('mpjpe',))
            result = evaluate(net, bundle.test, symmetry, bundle.protocol, options)
            valid_mm = result.frame_weighted['mpjpe']
            state.history['valid'].append(valid_mm / 1000)
            if args.eval_train:
                result_train = evaluate(net, bundle.train, symmetry, bundle.protocol,
                                        EvalOptions(tta=False, batch_size=args.eval_batch_size, device=device,
                                                    amp=args.amp, progress=progress, metrics=('mpjpe',)))
                state.history['train_eval'].append(result_train.frame_weighted['mpjpe'] / 1000)
        elapsed = (time.time() - start) / 60
        if context.is_main:
            line = f'[{state.epoch + 1}] time {elapsed:.2f} lr {state.lr:f} 3d_train {train_loss * 1000:f}'
            if args.eval_train and valid_mm is not None:
                line += f' 3d_eval {state.history["train_eval"][-1] * 1000:f}'
            if valid_mm is not None:
                line += f' 3d_valid {valid_mm:f}'
            log(line)

        state.lr *= args.lr_decay
        for group in optimizer.param_groups:
            group['lr'] *= args.lr_decay
        state.epoch += 1

        if context.is_main:
            def write(name):
                save_checkpoint(os.path.join(checkpoint_dir, name), epoch=state.epoch, lr=state.lr, model=net,
                                optimizer=optimizer, config=net.config, rng_state=capture_rng_state(state.sampler),
                                extra={'history': state.history, 'best_valid': state.best_valid})
            if valid_mm is not None and valid_mm < state.best_valid:
                state.best_valid = valid_mm
                write('best_epoch.bin')
            if state.epoch % args.checkpoint_frequency == 0:
                write(f'epoch_{state.epoch}.bin')
            if on_epoch_end is not None:
                on_epoch_end(state)
    return state


def _reduce_mean(total, count, context, device):
    if context.world_size == 1:
        return total / count
    import torch.distributed as dist
    t = torch.tensor([total, float(count)], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return (t[0] / t[1]).item()


def _autocast(args, device):
    if args.amp and device.type == 'cuda':
        return torch.autocast('cuda', dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)
