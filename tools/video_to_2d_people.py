"""Every person of a video -> their 2D keypoints under stable ids, as a ``-d custom`` file (one entry per person).

    python tools/video_to_2d_people.py tests/data/pose2sim_multi_cam04.mp4 -o out/
    python tools/video_to_2d_people.py clip.mp4 -o out/ --person largest

Writes ``<out>/data_2d_custom_<name>_people.npz`` (``<name>``: the video's file name without
extension) holding, for each chosen person, the video entry ``<name>_person<ID>``: COCO-17
pixels over all the video's frames (aligned with the video; frames before a person's first and after
their last detection repeat the nearest one), its size and frame rate. Each person is then lifted
by the ``-d custom`` path (``run_poseformer.py -d custom -k <name>_people --viz-subject
<name>_person<ID> ...``). Prints one line per person kept and the rule that dropped short tracks.
Detection: `common.detection.people.detect_people` (BlazePose's models from the mediapipe 0.10.21
wheel, several people per frame; nothing downloaded).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402


def person_choice(text):
    """--person: 'all', 'largest' or a person id (a whole number >= 0)."""
    import argparse

    from common.detection.people import check_choice
    from common.errors import UserError
    try:
        return check_choice(text)
    except UserError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def build_parser():
    parser = ArgumentParser(prog='tools/video_to_2d_people.py', description=__doc__.split('\n\n')[0])
    parser.add_argument('video', help='the video file (.mp4, .avi, .mov, .gif ...)')
    parser.add_argument('-o', '--output-dir', default='data', help='where to write (default: data)')
    parser.add_argument('--person', type=person_choice, default='all', metavar='ID|all|largest',
                        help='who to write: every person kept (default), the largest (near and lasting), or one id')
    parser.add_argument('--min-confidence', type=float, default=0.3,
                        help='joints scored below this are interpolated from neighbouring frames (default: 0.3)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output file')
    return parser


def write_people(args, make_detector=None):
    """The program on parsed `args`; `make_detector`: another several-people `Detector` factory (tests)."""
    from common.data.custom import write_custom
    from common.detection.people import custom_entries, detect_people, person_name, select_people
    from common.errors import UserError
    from common.io.writable import check_output_folder
    from common.progress import progress_wanted

    video = Path(args.video)
    if not 0 <= args.min_confidence <= 1:
        raise UserError(f'{args.min_confidence}: give a score between 0 and 1', setting='min_confidence')
    check_output_folder(args.output_dir, setting='output_dir')
    out = Path(args.output_dir) / f'data_2d_custom_{video.stem}_people.npz'      # as -d custom -k NAME reads it
    if out.exists() and not args.overwrite:
        raise UserError(f'{out} already exists; pass --overwrite to replace it, or choose another -o folder',
                        setting='output_dir')
    result = detect_people(video, **({} if make_detector is None else {'make_detector': make_detector}),
                           min_confidence=args.min_confidence, progress=progress_wanted(),
                           warn=lambda message: print(f'warning: {message}', file=sys.stderr), setting='video')
    chosen = select_people(result, args.person)
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    write_custom(out, custom_entries(result, chosen))
    print(f'{result.name}: {len(result.people)} people found by {result.detector}; {result.drop_rule}')
    for person in chosen:
        frames = result.frames
        print(f'  {person_name(video.stem, person.id)}: detected in {int(person.detected.sum())} of {frames} frames, '
              f'present in frames {person.present.argmax()}-{frames - 1 - person.present[::-1].argmax()}; '
              f'{person.report.describe()}')
    print(f'wrote {out}')


def main(argv=None):
    parser = build_parser()
    return run_program(lambda: write_people(parser.parse_args(argv)), flag_names(parser))


if __name__ == '__main__':
    sys.exit(main())
