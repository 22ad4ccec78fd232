"""Scan configuration of the objective family (docs/theory.md §5): bad objectives are one-line input errors, in the
library
and on the command line; the configuration records its objective."""

import pytest

from linvae import InputError
from linvae.cli import main
from linvae.model import Objective
from linvae.train import ScanConfig


@pytest.mark.parametrize("kw", [{"objective": "vae"}, {"lam": 1.0}, {"objective": "lr", "alpha": -1.0},
                                {"objective": "lambda-beta", "lam": float("nan")}, {"alpha_warmup": 10},
                                {"objective": "lr", "alpha": 1.0, "alpha_warmup": -5}])
def test_config_rejects_bad_objectives(kw):
    with pytest.raises(InputError) as err:
        ScanConfig(**kw)
    assert "\n" not in str(err.value)


def test_config_records_objective():
    cfg = ScanConfig(objective="lr", alpha=0.25, alpha_warmup=100)
    attrs = cfg.as_attrs()
    assert (attrs["objective"], attrs["lam"], attrs["alpha"], attrs["alpha_warmup"]) == ("lr", 0.0, 0.25, 100)
    assert cfg.objective_spec == Objective("lr", alpha=0.25)
    assert ScanConfig(**{k: attrs[k] for k in ("objective", "lam", "alpha", "alpha_warmup")}) == cfg


@pytest.mark.parametrize("flags", [["--objective", "lr", "--lam", "1"], ["--objective", "lr", "--alpha", "-1"],
                                   ["--objective", "nonsense"], ["--alpha-warmup", "100"],
                                   ["--objective", "lr", "--alpha", "1", "--alpha-warmup", "-3"]])
def test_cli_bad_objective_exits_2(tmp_path, capsys, flags):
    out = tmp_path / "never.nc"
    assert main(["scan", "--data", "synthetic", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("linvae: error:") and err.count("\n") == 1
    assert not out.exists()
    if "--alpha-warmup" not in flags:
        assert main(["theory", "--eigenvalues", "1,0.5", "--out", str(out), *flags]) == 2
        assert not out.exists()
