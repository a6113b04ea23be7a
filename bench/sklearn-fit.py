"""The scikit-learn peer of bench/exact.ts: read the plaintext CSV with DuckDB, fit
LinearRegression and LogisticRegression() (default options) on the same rows Obscura fits,
and print the seconds and the metrics on those rows as JSON.

    python sklearn-fit.py data.csv ROUNDS
"""
import json
import statistics
import sys
import time

import duckdb
import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score

path, rounds = sys.argv[1], int(sys.argv[2])
out = {"read": [], "linear": [], "logistic": []}
for _ in range(rounds):
    t = time.perf_counter()
    data = duckdb.read_csv(path).fetchnumpy()
    features = [k for k in data if k.startswith("x")]
    X = np.column_stack([data[k] for k in features]).astype(np.float64)
    yn = np.asarray(data["yn"], dtype=np.float64)
    yb = np.asarray(data["yb"], dtype=bool)
    read = time.perf_counter() - t
    out["read"].append(read)
    t = time.perf_counter()
    lin = LinearRegression().fit(X, yn)
    out["linear"].append(time.perf_counter() - t)
    t = time.perf_counter()
    logi = LogisticRegression().fit(X, yb)
    out["logistic"].append(time.perf_counter() - t)
pn = lin.predict(X)
pb = logi.predict_proba(X)[:, 1]
print(json.dumps({
    "sklearn": __import__("sklearn").__version__,
    "read": statistics.median(out["read"]),
    "linear": statistics.median(out["linear"]),
    "logistic": statistics.median(out["logistic"]),
    "runs": out,
    "metrics": {
        "r2": float(r2_score(yn, pn)),
        "rmse": float(np.sqrt(np.mean((pn - yn) ** 2))),
        "auc": float(roc_auc_score(yb, pb)),
        "accuracy": float(accuracy_score(yb, pb >= 0.5)),
        "log_loss": float(log_loss(yb, pb)),
    },
}))
