"""Grader for housing-regression: root mean squared error between log(1 + predicted) and log(1 + actual) price
(RMSLE; lower is better). Prices must be finite and non-negative."""
import numpy as np
import pandas as pd

ID = "house_id"
TARGET = "price"


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
    values = pd.to_numeric(submission[TARGET], errors="coerce")
    if values.isna().any() or not np.isfinite(values).all():
        raise InvalidSubmissionError(f"{TARGET} must be a finite number in every row (NaN or text found)")
    if (values < 0).any():
        raise InvalidSubmissionError(f"{TARGET} must be non-negative ({int((values < 0).sum())} negative rows)")
    predicted = pd.Series(values.to_numpy(), index=ids).loc[answers[ID]].to_numpy()
    return float(np.sqrt(np.mean((np.log1p(predicted) - np.log1p(answers[TARGET].to_numpy())) ** 2)))
