"""Regenerate ``worldclim_bio10m_spectrum.json``: the embedded default spectrum of ``linvae demo``.

Reads the real WorldClim 10' bioclimatic layers in ``../shared/worldclim10m/`` (never copied into this
repository: their licence forbids redistribution), derives BIO7 = BIO5 - BIO6, keeps the cells valid in every
layer, standardises each feature over those cells and stores only the eigenvalues of the resulting
correlation matrix, with the provenance needed to reproduce them.

Usage:  python data/make_default_spectrum.py [LAYER_DIR]     (needs rasterio)
"""

import datetime
import hashlib
import json
import pathlib
import sys

import numpy as np
import rasterio

HERE = pathlib.Path(__file__).resolve().parent
LAYERS = {  # BIO number -> file name in the shared folder (two WorldClim naming schemes)
    1: "wc2.1_10m_bio_1.tif", 5: "wc2.0_bio_10m_05.tif", 6: "wc2.0_bio_10m_06.tif",
    12: "wc2.0_bio_10m_12.tif", 13: "wc2.0_bio_10m_13.tif", 14: "wc2.0_bio_10m_14.tif",
    16: "wc2.0_bio_10m_16.tif", 17: "wc2.0_bio_10m_17.tif", 18: "wc2.0_bio_10m_18.tif",
    19: "wc2.0_bio_10m_19.tif",
}


def read_layer(path):
    with rasterio.open(path) as src:
        band = src.read(1, masked=True)
    return np.ma.getdata(band).astype(np.float64), ~np.ma.getmaskarray(band)


def main(layer_dir):
    layer_dir = pathlib.Path(layer_dir)
    layers, masks, digests = {}, [], {}
    for bio, name in LAYERS.items():
        layers[bio], valid = read_layer(layer_dir / name)
        masks.append(valid & np.isfinite(layers[bio]))
        digests[name] = hashlib.sha256((layer_dir / name).read_bytes()).hexdigest()
    layers[7] = layers[5] - layers[6]
    valid = np.logical_and.reduce(masks)
    order = sorted(layers)
    x = np.stack([layers[b][valid] for b in order], axis=1)
    x = (x - x.mean(0)) / x.std(0)
    eigenvalues = np.linalg.eigvalsh(np.cov(x, rowvar=False, bias=True))[::-1]
    record = {
        "description": "Eigenvalues (descending) of the correlation matrix of WorldClim 10' bioclimatic "
                       "variables over land cells valid in every layer; each feature standardised over those "
                       "cells (population statistics). BIO7 is derived as BIO5 - BIO6, so one eigenvalue is "
                       "zero up to rounding.",
        "variables": [f"BIO{b}" for b in order],
        "eigenvalues": eigenvalues.tolist(),
        "n_cells": int(valid.sum()),
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
