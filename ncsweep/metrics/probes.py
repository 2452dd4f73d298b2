"""Linear-evaluation style probes on frozen stage-1 features (spec §1, stage-1 metrics)."""

from __future__ import annotations

import numpy as np

from ncsweep.config.stage1 import ProbeConfig

_D = ProbeConfig()  # the defaults, one source: spec §1 via the config


def probe_accuracy(
    f_train: np.ndarray,
    y_train: np.ndarray,
    f_test: np.ndarray,
    y_test: np.ndarray,
    knn_k: int = _D.knn_k,
    svm_c: float = _D.svm_c,
    svm_max_iter: int = _D.svm_max_iter,
) -> dict[str, float]:
    """KNN (k=5, Euclidean) and linear SVM (C=1) accuracy on MinMax(-1, 1)-scaled features
    (k, C and the solver's iteration bound: ``ProbeConfig``).

    The scaler is fit on the train features only; both probes train on the full train split and
    score the full test split.
    """
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.svm import SVC

    scaler = MinMaxScaler(feature_range=(-1, 1)).fit(f_train)
    a, b = scaler.transform(f_train), scaler.transform(f_test)
    k = min(knn_k, len(a))  # tiny train splits (SonyAIBORobotSurface1: 20) still work
    knn = KNeighborsClassifier(n_neighbors=k).fit(a, y_train)
    out = {"knn_acc": float((knn.predict(b) == y_test).mean())}
    if len(np.unique(y_train)) > 1:
        svm = SVC(kernel="linear", C=svm_c, max_iter=svm_max_iter).fit(a, y_train)
        out["svm_acc"] = float((svm.predict(b) == y_test).mean())
    else:  # one class in train: SVC refuses; every prediction is that class
        out["svm_acc"] = float((y_test == y_train[0]).mean())
    return out


def codebook_usage(indices: np.ndarray, codebook_size: int) -> dict[str, float]:
    """Perplexity exp(H) of the code histogram and the fraction of codes used at least once."""
    counts = np.bincount(np.asarray(indices).ravel(), minlength=codebook_size).astype(np.float64)
    p = counts / max(counts.sum(), 1.0)
    nz = p[p > 0]
    return {
        "perplexity": float(np.exp(-(nz * np.log(nz)).sum())),
        "codebook_usage": float((counts > 0).mean()),
    }
