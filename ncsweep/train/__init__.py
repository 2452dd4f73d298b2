"""One stage on one device. Imports neither Ray nor MLflow: metrics leave through a callable."""
