"""Baseline for TASK.md: a small logistic regression. Run it, then ask the Ideator what to try next."""
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split


def load_data():
    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)


def build_model():
    return LogisticRegression(max_iter=200)


def main():
    X_train, X_val, y_train, y_val = load_data()
    model = build_model()
    model.fit(X_train, y_train)
    proba = model.predict_proba(X_val)[:, 1]
    print(f"val_auc={roc_auc_score(y_val, proba):.4f}")


if __name__ == "__main__":
    main()
