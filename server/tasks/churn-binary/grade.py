"""Grader for churn-binary: ROC AUC of the submitted churn probabilities (higher is better). Raises
InvalidSubmissionError for anything that is not one finite number per test customer."""
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ID = "customer_id"
TARGET = "churn"


class InvalidSubmissionError(Exception):
    pass


def _aligned(submission: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    if list(submission.columns) != [ID, TARGET]:
        raise InvalidSubmissionError(f"expected columns {[ID, TARGET]}, got {list(submission.columns)}")
    if len(submission) != len(answers):
        raise InvalidSubmissionError(f"expected {len(answers)} rows, got {len(submission)}")
    if submission[ID].duplicated().any():
        raise InvalidSubmissionError(f"duplicate {ID} values")
    missing = set(answers[ID]) - set(submission[ID].astype(str))
    if missing:
        raise InvalidSubmissionError(f"{len(missing)} {ID} values missing, e.g. {sorted(missing)[:3]}")
    values = pd.to_numeric(submission[TARGET], errors="coerce")
    if values.isna().any() or not np.isfinite(values).all():
        raise InvalidSubmissionError(f"{TARGET} must be a finite number in every row (NaN or text found)")
    merged = answers.merge(submission.assign(**{ID: submission[ID].astype(str), TARGET: values}), on=ID, suffixes=("_true", ""))
    return merged


def grade(submission: pd.DataFrame, answers: pd.DataFrame) -> float:
    merged = _aligned(submission, answers)
    return float(roc_auc_score(merged[f"{TARGET}_true"], merged[TARGET]))
