"""Reference: bag of words + multinomial naive Bayes."""
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
model = make_pipeline(CountVectorizer(), MultinomialNB()).fit(train["text"], train["team"])
pd.DataFrame({"ticket_id": test["ticket_id"], "team": model.predict(test["text"])}).to_csv("submission.csv", index=False)
