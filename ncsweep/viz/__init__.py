"""Matplotlib figures, made outside ``forward``; each function returns a Figure (no pyplot)."""

from ncsweep.viz.samples import latent_tsne, reconstructions, samples_vs_real
from ncsweep.viz.style import save

__all__ = ["latent_tsne", "reconstructions", "samples_vs_real", "save"]
