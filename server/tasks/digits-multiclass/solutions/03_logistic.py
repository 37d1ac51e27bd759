"""Reference: multinomial logistic regression on standardized pixels."""
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
pixels = [c for c in train.columns if c.startswith("px")]
model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
model.fit(train[pixels], train["label"])
pd.DataFrame({"id": test["id"], "label": model.predict(test[pixels])}).to_csv("submission.csv", index=False)
