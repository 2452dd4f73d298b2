"""ncsweep: dependency-aware Ray Tune sweeps of the NC-VQVAE study, tracked in MLflow."""

__version__ = "0.1.0"
