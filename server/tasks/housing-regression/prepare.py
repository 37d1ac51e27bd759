"""Generates housing-regression deterministically (no download): house sales whose log price depends on
living area (log), rooms, age (non-linear, with a 'historic' premium), a smooth location surface over (lat, lon),
a quality grade, garage and the area x quality interaction, with multiplicative noise and missing values."""
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 4242
N_TRAIN = 3000
N_TEST = 1500


def _generate(rng: np.random.Generator, n: int) -> pd.DataFrame:
    area = np.exp(rng.normal(4.8, 0.35, n)).round(0)  # m^2
    rooms = np.clip(np.round(area / 25 + rng.normal(0, 1, n)), 1, 12).astype(int)
    age = rng.integers(0, 120, n)
    lat = rng.uniform(0, 10, n).round(3)
    lon = rng.uniform(0, 10, n).round(3)
    quality = rng.choice(["poor", "fair", "good", "excellent"], n, p=[0.15, 0.4, 0.33, 0.12])
    garage = rng.integers(0, 2, n)
    district = np.where(lon < 5, np.where(lat < 5, "south-west", "north-west"), np.where(lat < 5, "south-east", "north-east"))
    q = pd.Series(quality).map({"poor": 0, "fair": 1, "good": 2, "excellent": 3}).to_numpy()

    location = 0.35 * np.sin(lat / 1.6) * np.cos(lon / 2.1) + 0.25 * np.exp(-((lat - 7) ** 2 + (lon - 3) ** 2) / 4)
    age_effect = -0.006 * age + 0.00004 * age**2 + 0.15 * (age > 90)
    log_price = (
        4.0
        + 0.85 * np.log(area)
        + 0.03 * rooms
        + age_effect
        + location
        + 0.12 * q
        + 0.03 * q * (np.log(area) - 4.8)
        + 0.08 * garage
        + rng.normal(0, 0.12, n)
    )
    price = np.exp(log_price).round(1)  # thousands

    frame = pd.DataFrame(
        {
            "living_area_m2": area,
            "rooms": rooms.astype(float),
            "age_years": age,
            "lat": lat,
            "lon": lon,
            "district": district,
            "quality": quality,
            "garage": garage,
            "price": price,
        }
    )
    frame.loc[rng.random(n) < 0.06, "rooms"] = np.nan
    frame.loc[rng.random(n) < 0.04, "age_years"] = np.nan
    return frame


def prepare(raw: Path, public: Path, private: Path) -> None:
    rng = np.random.default_rng(SEED)
    df = _generate(rng, N_TRAIN + N_TEST)
    df.insert(0, "house_id", [f"H{i:05d}" for i in range(len(df))])
    df = df.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    train, test = df.iloc[:N_TRAIN], df.iloc[N_TRAIN:]
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=["price"]).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"house_id": test["house_id"], "price": train["price"].median()}).to_csv(public / "sample_submission.csv", index=False)
    test[["house_id", "price"]].to_csv(private / "test.csv", index=False)
