"""Reference: ordinary least squares on the raw price with numeric columns (clipped at 0 for the metric)."""
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
numeric = ["living_area_m2", "rooms", "age_years", "lat", "lon", "garage"]
model = make_pipeline(SimpleImputer(strategy="median"), LinearRegression()).fit(train[numeric], train["price"])
price = np.clip(model.predict(test[numeric]), 0, None)
pd.DataFrame({"house_id": test["house_id"], "price": price}).to_csv("submission.csv", index=False)
