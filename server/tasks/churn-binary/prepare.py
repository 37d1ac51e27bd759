"""Generates the churn-binary task deterministically (no download): a synthetic subscriber table whose churn
probability mixes contract type, tenure (with an early-life bump), support calls, a price x contract
interaction, a U-shaped age effect and per-region offsets, plus missing values. Labels are Bernoulli draws, so
even the true model stays well below AUC 1."""
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261123
N_TRAIN = 4000
N_TEST = 2000


def _generate(rng: np.random.Generator, n: int) -> pd.DataFrame:
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.55, 0.25, 0.20])
    tenure = rng.integers(1, 73, n)
    monthly = np.clip(rng.normal(65, 25, n), 15, 150).round(2)
    support_calls = rng.poisson(1.5, n)
    age = rng.integers(18, 80, n)
    data_gb = rng.gamma(2.0, 8.0, n).round(1)
    payment = rng.choice(["card", "bank-transfer", "paper-check", "wallet"], n, p=[0.4, 0.25, 0.15, 0.2])
    region = rng.choice(list("ABCDEFG"), n)
    has_partner = rng.integers(0, 2, n)
    region_effect = dict(zip("ABCDEFG", [0.0, 0.3, -0.2, 0.5, -0.4, 0.1, 0.0]))

    contract_effect = np.select([contract == "month-to-month", contract == "one-year"], [1.1, 0.0], -1.3)
    logit = (
        -1.2
        + contract_effect
        - 0.035 * tenure
        + 0.9 * (tenure <= 6)
        + 0.38 * support_calls
        + 0.025 * (monthly - 65) * (contract == "month-to-month")
        + 0.0009 * (age - 45) ** 2
        + np.vectorize(region_effect.get)(region)
        + 0.45 * (payment == "paper-check")
        - 0.3 * has_partner
        - 0.25 * np.log1p(data_gb)
    )
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)

    # Missing values a real export would have: some prices and usage figures were never recorded.
    monthly = monthly.astype(float)
    monthly[rng.random(n) < 0.05] = np.nan
    data_gb[rng.random(n) < 0.08] = np.nan
    return pd.DataFrame(
        {
            "contract": contract,
            "tenure_months": tenure,
            "monthly_charge": monthly,
            "support_calls": support_calls,
            "age": age,
            "data_gb": data_gb,
            "payment_method": payment,
            "region": region,
            "has_partner": has_partner,
            "churn": churn,
        }
    )


def prepare(raw: Path, public: Path, private: Path) -> None:
    rng = np.random.default_rng(SEED)
    df = _generate(rng, N_TRAIN + N_TEST)
    df.insert(0, "customer_id", [f"C{i:05d}" for i in range(len(df))])
    # Shuffle ids so row order carries no signal.
    df = df.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    train, test = df.iloc[:N_TRAIN], df.iloc[N_TRAIN:]
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=["churn"]).to_csv(public / "test.csv", index=False)
    sample = pd.DataFrame({"customer_id": test["customer_id"], "churn": 0.5})
    sample.to_csv(public / "sample_submission.csv", index=False)
    test[["customer_id", "churn"]].to_csv(private / "test.csv", index=False)
