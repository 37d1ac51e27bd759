"""Reference: the median training price for every house: the leaderboard's floor."""
import pandas as pd

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
pd.DataFrame({"house_id": test["house_id"], "price": train["price"].median()}).to_csv("submission.csv", index=False)
