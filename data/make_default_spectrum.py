"""Regenerate ``worldclim_bio10m_spectrum.json``: the embedded default spectrum of ``linvae demo``.

Reads the real WorldClim 10' bioclimatic layers in ``../shared/worldclim10m/`` (never copied into this
repository: their licence forbids redistribution), derives BIO7 = BIO5 - BIO6, keeps the cells valid in every
layer, standardises each feature over those cells and stores only the eigenvalues of the resulting
correlation matrix, with the provenance needed to reproduce them.

Usage:  python data/make_default_spectrum.py [LAYER_DIR]
"""

import datetime
import hashlib
import json
import pathlib
import sys

import numpy as np

import linvae

HERE = pathlib.Path(__file__).resolve().parent


def main(layer_dir):
    layer_dir = pathlib.Path(layer_dir)
    ds = linvae.load_worldclim(layer_dir)  # every layer found, BIO7 derived as BIO5 - BIO6
    digests = {ds[v].attrs["source_file"]: hashlib.sha256((layer_dir / ds[v].attrs["source_file"]).read_bytes())
               .hexdigest() for v in ds.data_vars if not ds[v].attrs["source_file"].startswith("derived")}
    x = np.stack([ds[v].values for v in ds.data_vars], axis=1)
    x = (x - x.mean(0)) / x.std(0)
    eigenvalues = np.linalg.eigvalsh(np.cov(x, rowvar=False, bias=True))[::-1]
    record = {
        "description": "Eigenvalues (descending) of the correlation matrix of WorldClim 10' bioclimatic "
                       "variables over land cells valid in every layer; each feature standardised over those "
                       "cells (population statistics). BIO7 is derived as BIO5 - BIO6, so one eigenvalue is "
                       "zero up to rounding.",
        "variables": list(ds.data_vars),
        "eigenvalues": eigenvalues.tolist(),
        "n_cells": int(ds.sizes["cell"]),
        "source_files_sha256": digests,
        "source": "WorldClim (Fick & Hijmans 2017, Int. J. Climatol. 37:4302-4315), 10 arc-minute grid",
        "generated_by": "data/make_default_spectrum.py",
        "generated_on": datetime.date.today().isoformat(),
    }
    out = HERE / "worldclim_bio10m_spectrum.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}: {len(eigenvalues)} eigenvalues from {record['n_cells']} cells")
    print(np.array2string(eigenvalues, precision=4))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE.parent.parent / "shared" / "worldclim10m")
