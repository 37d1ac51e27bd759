"""Generates tickets-text deterministically (no download): customer-support tickets written from per-team
phrase banks. What makes it non-trivial: teams share vocabulary (a 'charge' can be billing or a refund), many
tickets mention a second topic in passing, some state what the problem is NOT ('not a billing question'),
typos are injected, classes are imbalanced, and 4 % of labels are flipped as real routing mistakes are."""
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 99
N_TRAIN = 3500
N_TEST = 1500
TEAMS = ["billing", "technical", "shipping", "account", "refund"]
PRIOR = [0.28, 0.30, 0.18, 0.14, 0.10]

TOPIC = {
    "billing": ["invoice", "charged twice", "payment failed", "card declined", "billing cycle", "subscription fee",
                "tax on my bill", "unexpected charge", "price increase", "receipt"],
    "technical": ["app crashes", "error message", "cannot log in to the app", "page does not load", "sync fails",
                  "bug", "slow performance", "update broke", "connection timeout", "blank screen"],
    "shipping": ["package", "tracking number", "delivery", "courier", "parcel arrived damaged", "shipping address",
                 "late delivery", "lost in transit", "delivery window", "warehouse"],
    "account": ["password reset", "change my email", "two-factor", "account locked", "username", "close my account",
                "profile settings", "security question", "verify my identity", "merge accounts"],
    "refund": ["refund", "money back", "return the item", "charge reversed", "refund status", "cancel and refund",
               "store credit", "return label", "partial refund", "reimbursement"],
}
OPENERS = ["Hi,", "Hello team,", "Good morning.", "Hey there,", "To whom it may concern:", "", "Urgent:", "Quick question."]
FILLER = ["I have been a customer for years", "this is the second time I write", "please help as soon as possible",
          "I tried everything on the help page", "my order number is in the subject", "thanks in advance",
          "it started yesterday", "my colleague has the same issue", "I am quite frustrated", "no rush"]
TEMPLATES = [
    "{opener} I have a problem with {a}. {filler}.",
    "{opener} {a} again, and also {b2}. {filler}.",
    "{opener} Can you look into {a}? {filler}. By the way {b2}.",
    "{opener} This is not about {neg}, it is about {a}. {filler}.",
    "{opener} {filler}. The issue: {a} and {a2}.",
    "{opener} {a}. {a2}. {filler}.",
]


def _typo(text: str, rng: np.random.Generator) -> str:
    chars = list(text)
    for _ in range(rng.integers(0, 3)):
        i = int(rng.integers(0, max(1, len(chars) - 1)))
        if chars[i].isalpha():
            chars[i] = chars[i + 1] if i + 1 < len(chars) and chars[i + 1].isalpha() else chars[i]
    return "".join(chars)


def _ticket(team: str, rng: np.random.Generator) -> str:
    others = [t for t in TEAMS if t != team]
    pick = lambda t: TOPIC[t][int(rng.integers(0, len(TOPIC[t])))]  # noqa: E731
    text = TEMPLATES[int(rng.integers(0, len(TEMPLATES)))].format(
        opener=OPENERS[int(rng.integers(0, len(OPENERS)))],
        a=pick(team),
        a2=pick(team),
        b2=pick(others[int(rng.integers(0, len(others)))]),
        neg=pick(others[int(rng.integers(0, len(others)))]),
        filler=FILLER[int(rng.integers(0, len(FILLER)))],
    )
    return _typo(text.strip(), rng)


def prepare(raw: Path, public: Path, private: Path) -> None:
    rng = np.random.default_rng(SEED)
    n = N_TRAIN + N_TEST
    teams = rng.choice(TEAMS, n, p=PRIOR)
    texts = [_ticket(t, rng) for t in teams]
    flip = rng.random(n) < 0.04
    labels = np.where(flip, rng.choice(TEAMS, n), teams)
    df = pd.DataFrame({"ticket_id": [f"T{i:05d}" for i in range(n)], "text": texts, "team": labels})
    train, test = df.iloc[:N_TRAIN], df.iloc[N_TRAIN:]
    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=["team"]).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"ticket_id": test["ticket_id"], "team": "billing"}).to_csv(public / "sample_submission.csv", index=False)
    test[["ticket_id", "team"]].to_csv(private / "test.csv", index=False)
