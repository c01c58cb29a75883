"""Per-action bar chart (Protocol #1 and #2) of a ``--results-json`` file, beside the paper's numbers.

    python tools/plot_results.py results.json -o figure/per_action.png
    python tools/plot_results.py results.json --no-paper
    python tools/plot_results.py results.json --keypoints cpn_ft_h36m_dbb --frames 81   # choose the paper row

The paper's row is looked up from the run's configuration stored in the JSON (-d, -k, the model's
frames) unless given; the chart shows it where the paper reports it (per action for Protocol #1
with CPN keypoints and 81 frames, the average otherwise). When the run's average covers other
actions than the paper's (e.g. 4 of the 15 Human3.6M actions), a note says so and the chart's
average label gives both counts. See `common.plots.plot_per_action`.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402
from common.errors import UserError  # noqa: E402
from common.plots import average_note, load_results_json, paper_reference, plot_per_action  # noqa: E402


def build_parser():
    parser = ArgumentParser(prog='tools/plot_results.py',
                            description='Bar chart of Protocol #1 / #2 per action from a --results-json file, '
                                        "beside the PoseFormer paper's numbers when it reports them.")
    parser.add_argument('results', help='JSON written by run_poseformer.py --results-json')
    parser.add_argument('-o', '--output', help='PNG to write (default: next to the JSON, <name>_per_action.png)')
    parser.add_argument('--no-paper', action='store_true', help="leave out the paper's numbers")
    parser.add_argument('--dataset', help="paper lookup: dataset (default: the run's -d)")
    parser.add_argument('--keypoints', help="paper lookup: keypoints (default: the run's -k)")
    parser.add_argument('--frames', type=int, help="paper lookup: frames (default: the model's)")
    parser.add_argument('--title', help='figure title')
    return parser


def plot_results(options):
    """Write the chart that the parsed `options` ask for and say where it went."""
    results = load_results_json(options.results)
    paper = None if options.no_paper else paper_reference(results, options.dataset, options.keypoints, options.frames)
    out = options.output or str(Path(options.results).with_suffix('')) + '_per_action.png'
    if not out.lower().endswith('.png'):
        raise UserError(f'{out}: the chart is written as PNG; give a name ending in .png', setting='output')
    plot_per_action(results, out, paper=paper, title=options.title)
    compared = ', '.join(sorted(paper)) if paper else 'none'
    print(f'Wrote {out} (paper numbers shown: {compared})')
    note = average_note(results, paper)
    if note:
        print(f'note: {note}')


def main(argv=None):
    """Command-line entry; returns the exit status (2 with ``error: ...`` for user errors)."""
    parser = build_parser()
    return run_program(lambda: plot_results(parser.parse_args(argv)), flag_names(parser))


if __name__ == '__main__':
    sys.exit(main())
