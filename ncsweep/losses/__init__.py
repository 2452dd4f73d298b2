"""SSL losses for stage 1 (spec §1) and their registry (``none | barlowtwins | vibcreg``)."""

from ncsweep.losses.barlow_twins import barlow_twins
from ncsweep.losses.ssl import SSL_LOSSES, SSL_METHODS, SSLMethod, ssl_method
from ncsweep.losses.vibcreg import vibcreg, vibcreg_terms

__all__ = [
    "SSL_LOSSES",
    "SSL_METHODS",
    "SSLMethod",
    "barlow_twins",
    "ssl_method",
    "vibcreg",
    "vibcreg_terms",
]
