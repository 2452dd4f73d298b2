"""Metrics: stage-1 probes and codebook usage; generative FID, IS and CAS (spec §1, §3)."""

from ncsweep.metrics.fid import frechet_distance
from ncsweep.metrics.inception import inception_score
from ncsweep.metrics.probes import codebook_usage, probe_accuracy

__all__ = ["codebook_usage", "frechet_distance", "inception_score", "probe_accuracy"]
