"""Grader for digits-multiclass: accuracy of the predicted digit (higher is better). Labels must be integers
0-9, one per test image."""
import numpy as np
import pandas as pd

ID = "id"
TARGET = "label"


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
    labels = pd.to_numeric(submission[TARGET], errors="coerce")
    if labels.isna().any():
        raise InvalidSubmissionError(f"{TARGET} must be a digit 0-9 in every row (NaN or text found)")
    if not (np.equal(np.mod(labels, 1), 0).all() and labels.between(0, 9).all()):
        raise InvalidSubmissionError(f"{TARGET} must be an integer 0-9")
    predicted = pd.Series(labels.astype(int).to_numpy(), index=ids)
    return float((predicted.loc[answers[ID]].to_numpy() == answers[TARGET].to_numpy()).mean())
