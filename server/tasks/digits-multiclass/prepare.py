"""Builds digits-multiclass from scikit-learn's bundled 8x8 digits (load_digits ships with the package, no
download), made harder deterministically: every image gets pixel noise, a random one-pixel shift, and half of
them a blanked 3x3 patch."""
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

SEED = 7
TEST_FRACTION = 0.35


def _corrupt(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty_like(images, dtype=float)
    for i, img in enumerate(images):
        dy, dx = rng.integers(-1, 2, 2)
        shifted = np.roll(np.roll(img, dy, axis=0), dx, axis=1).astype(float)
        if rng.random() < 0.5:
            y, x = rng.integers(0, 6, 2)
            shifted[y : y + 3, x : x + 3] = 0.0
        shifted += rng.normal(0, 2.5, shifted.shape)
        out[i] = np.clip(shifted, 0, 16)
    return out.round(1)


def prepare(raw: Path, public: Path, private: Path) -> None:
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    images = _corrupt(digits.images, rng)
    pixels = pd.DataFrame(images.reshape(len(images), -1), columns=[f"px{i:02d}" for i in range(64)])
    order = rng.permutation(len(pixels))
    pixels = pixels.iloc[order].reset_index(drop=True)
    labels = digits.target[order]
    pixels.insert(0, "id", [f"img{i:04d}" for i in range(len(pixels))])
    n_test = int(round(len(pixels) * TEST_FRACTION))
    train, test = pixels.iloc[n_test:].copy(), pixels.iloc[:n_test].copy()
    train["label"] = labels[n_test:]
    train.to_csv(public / "train.csv", index=False)
    test.to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], "label": 0}).to_csv(public / "sample_submission.csv", index=False)
    pd.DataFrame({"id": test["id"], "label": labels[:n_test]}).to_csv(private / "test.csv", index=False)
