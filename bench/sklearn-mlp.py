"""The scikit-learn peer of the MLP row in bench/ml.ts: read the plaintext CSV with DuckDB,
fit MLPClassifier with the same shape and schedule as the Obscura job (2 x 64 relu, Adam,
learning rate 0.01, batch 1024, EPOCHS epochs, no early stop, no L2 penalty, standardised
features, the first 90% of rows for training) and print the seconds and the validation
metrics as JSON.

    python sklearn-mlp.py data.csv EPOCHS
"""
import json
import sys
import time
import warnings

import duckdb
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

path, epochs = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
data = duckdb.read_csv(path).fetchnumpy()
features = [k for k in data if k.startswith("x")]
X = np.column_stack([data[k] for k in features]).astype(np.float32)
y = np.asarray(data["y"], dtype=bool)
read = time.perf_counter() - t
cut = int(len(y) * 0.9)
t = time.perf_counter()
scaler = StandardScaler().fit(X[:cut])
Xs = scaler.transform(X)
mlp = MLPClassifier(
    hidden_layer_sizes=(64, 64),
    activation="relu",
    solver="adam",
    alpha=0.0,
    learning_rate_init=0.01,
    batch_size=1024,
    max_iter=epochs,
    tol=0.0,
    n_iter_no_change=epochs + 1,
    shuffle=True,
    random_state=42,
)
with warnings.catch_warnings():
    # Stopping at max_iter is the point here, not a failure to converge.
    warnings.simplefilter("ignore", ConvergenceWarning)
    mlp.fit(Xs[:cut], y[:cut])
fit = time.perf_counter() - t
p = mlp.predict_proba(Xs[cut:])[:, 1]
print(json.dumps({
    "sklearn": __import__("sklearn").__version__,
    "read": read,
    "fit": fit,
    "epochs": int(mlp.n_iter_),
    "metrics": {
        "accuracy": float(accuracy_score(y[cut:], p >= 0.5)),
        "auc": float(roc_auc_score(y[cut:], p)),
    },
}))
