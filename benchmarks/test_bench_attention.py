"""benchmarks/bench_attention.py: its table times both ways of the spatial attention and names the
product's choice as `PoseTransformer` makes it on the CPU."""
from benchmarks.bench_attention import CONFIGS, main
from common.model.poseformer import PoseTransformer


def test_quick_table_names_the_models_own_choice(capsys):
    assert main(['--quick', '--threads', '1']) == 0
    rows = [[c.strip() for c in line.strip('|').split('|')] for line in capsys.readouterr().out.splitlines()
            if line.startswith('|') and ('train' in line or 'infer' in line)]
    assert [r[2] for r in rows] == ['train', 'infer'] * len(CONFIGS)
    for (name, (config, _)), row in zip(CONFIGS.items(), rows[::2]):
        config = dict(config)
        model = PoseTransformer(num_frame=config.pop('frames'), **config)
        explicit = not model.Spatial_blocks[0].attn.fused_attn
        assert row[0] == name and row[7] == ('explicit' if explicit else 'fused')
        assert float(row[4]) > 0 and float(row[5]) > 0
