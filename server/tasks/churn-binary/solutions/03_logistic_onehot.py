"""Reference: logistic regression on numeric + one-hot categorical columns."""
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
numeric = ["tenure_months", "monthly_charge", "support_calls", "age", "data_gb", "has_partner"]
categorical = ["contract", "payment_method", "region"]
pre = make_column_transformer(
    (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
    (OneHotEncoder(handle_unknown="ignore"), categorical),
)
model = make_pipeline(pre, LogisticRegression(max_iter=2000))
model.fit(train[numeric + categorical], train["churn"])
proba = model.predict_proba(test[numeric + categorical])[:, 1]
pd.DataFrame({"customer_id": test["customer_id"], "churn": proba}).to_csv("submission.csv", index=False)
