"""Reference: routes every ticket to the most frequent team: the leaderboard's floor."""
import pandas as pd

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
pd.DataFrame({"ticket_id": test["ticket_id"], "team": train["team"].mode()[0]}).to_csv("submission.csv", index=False)
