"""Reference: TF-IDF of word 1-2-grams and character 2-5-grams (robust to typos), logistic regression with
balanced class weights."""
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
features = make_union(
    TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
)
model = make_pipeline(features, LogisticRegression(C=5.0, max_iter=3000, class_weight="balanced"))
model.fit(train["text"], train["team"])
pd.DataFrame({"ticket_id": test["ticket_id"], "team": model.predict(test["text"])}).to_csv("submission.csv", index=False)
