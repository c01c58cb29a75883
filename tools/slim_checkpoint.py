"""Write a checkpoint for shipping: the model's weights, configuration, joint layouts and `extra`
(history, provenance) only, without the optimizer and sampler states that resuming needs (a third the size).

    python tools/slim_checkpoint.py checkpoint/embedded_f9/last_epoch.bin models/embedded_f9.bin

The result loads like any checkpoint (``--evaluate``, `common.streaming.model_from_checkpoint`),
but cannot resume training.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402


def build_parser():
    parser = ArgumentParser(prog='tools/slim_checkpoint.py', description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='checkpoint written by training')
    parser.add_argument('output', help='slim checkpoint to write')
    return parser


def slim(args):
    from common.io.checkpoint import load_checkpoint, save_checkpoint
    from common.streaming import model_from_checkpoint
    checkpoint = load_checkpoint(args.checkpoint)
    model = model_from_checkpoint(args.checkpoint)
    save_checkpoint(args.output, epoch=checkpoint['epoch'], lr=checkpoint['lr'], model=model, optimizer=None,
                    config=model.config, extra=checkpoint.get('extra'), layouts=checkpoint.get('layouts'))
    print(f'wrote {args.output} ({Path(args.output).stat().st_size / 1e6:.1f} MB)')


def main(argv=None):
    parser = build_parser()
    return run_program(lambda: slim(parser.parse_args(argv)), flag_names(parser))


if __name__ == '__main__':
    sys.exit(main())
