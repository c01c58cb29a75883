"""The training benchmark's regression guard (its verdict, not its timings)."""
from benchmarks.bench_training import guard_verdict


def test_guard_fails_a_run_whose_product_step_is_slower_than_the_official_style_one(capsys):
    assert guard_verdict(['ours F=27: 1.75x the official-style step time'], 1.0, measured=True) == 1
    assert 'REGRESSION' in capsys.readouterr().out
    assert guard_verdict([], 1.0, measured=True) == 0
    assert 'guard: ok' in capsys.readouterr().out
    assert guard_verdict(['anything'], 1.0, measured=False) == 0          # no naive variant measured: no verdict
    assert 'guard: off' in capsys.readouterr().out
