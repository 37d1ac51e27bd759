"""Reference: always predicts the most frequent training digit: the leaderboard's floor."""
import pandas as pd

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
pd.DataFrame({"id": test["id"], "label": int(train["label"].mode()[0])}).to_csv("submission.csv", index=False)
