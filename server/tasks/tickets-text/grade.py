"""Grader for tickets-text: macro-averaged F1 over the five teams (higher is better). Every prediction must be
one of the team names."""
import pandas as pd
from sklearn.metrics import f1_score

ID = "ticket_id"
TARGET = "team"
TEAMS = ["billing", "technical", "shipping", "account", "refund"]


class InvalidSubmissionError(Exception):
    pass


def grade(submission: pd.DataFrame, answers: pd.DataFrame) -> float:
    if list(submission.columns) != [ID, TARGET]:
        raise InvalidSubmissionError(f"expected columns {[ID, TARGET]}, got {list(submission.columns)}")
    if len(submission) != len(answers):
        raise InvalidSubmissionError(f"expected {len(answers)} rows, got {len(submission)}")
    ids = submission[ID].astype(str)
    if ids.duplicated().any():
        raise InvalidSubmissionError(f"duplicate {ID} values")
    missing = set(answers[ID]) - set(ids)
    if missing:
        raise InvalidSubmissionError(f"{len(missing)} {ID} values missing, e.g. {sorted(missing)[:3]}")
    if submission[TARGET].isna().any():
        raise InvalidSubmissionError(f"{TARGET} is empty in {int(submission[TARGET].isna().sum())} rows")
    unknown = set(submission[TARGET].astype(str)) - set(TEAMS)
    if unknown:
        raise InvalidSubmissionError(f"unknown {TARGET} values {sorted(unknown)[:5]}; expected one of {TEAMS}")
    predicted = pd.Series(submission[TARGET].astype(str).to_numpy(), index=ids).loc[answers[ID]]
    return float(f1_score(answers[TARGET], predicted.to_numpy(), labels=TEAMS, average="macro"))
