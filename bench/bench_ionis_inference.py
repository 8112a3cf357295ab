"""IONIS inference throughput (rows/s) for 1 M random paths: feature building and forward pass, CPU and CUDA."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from plugins.ionis.bands import BandPlan
from plugins.ionis.checkpoint import IonisBundle
from plugins.ionis.features import SPEC_FEATURES_BY_DNN, build_features
from plugins.ionis.model import IonisGate
from plugins.ionis.physics import random_paths
from plugins.ionis.predict import predict_matrix, predict_sigma


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dnn", type=int, default=15, choices=sorted(SPEC_FEATURES_BY_DNN))
    args = parser.parse_args()
    torch.manual_seed(0)
    bundle = IonisBundle(IonisGate(args.dnn).eval(), SPEC_FEATURES_BY_DNN[args.dnn], BandPlan.from_config(None),
                         None, None, release=22)
    batch = random_paths(np.random.default_rng(0), args.rows, bundle=bundle)
    start = time.perf_counter()
    x = build_features(bundle.features, batch)
    feat = time.perf_counter() - start
    print(f"{args.rows:,} rows, dnn {args.dnn}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print(f"features (numpy):           {args.rows / feat:>12,.0f} rows/s")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        bundle.module.to(device)
        predict_matrix(bundle, x[:1024], device=device)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        predict_matrix(bundle, x, device=device)
        fwd = time.perf_counter() - start
        start = time.perf_counter()
        predict_sigma(bundle, batch, device=device)
        total = time.perf_counter() - start
        name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
        print(f"forward only ({name}): {args.rows / fwd:>12,.0f} rows/s")
        print(f"features + forward ({name}): {args.rows / total:>12,.0f} rows/s")
    if len(devices) == 1:
        print("no CUDA device here: GPU throughput not measured")


if __name__ == "__main__":
    main()
