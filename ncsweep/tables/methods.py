"""The table columns; defined in :mod:`ncsweep.methods` (below ``tables/`` and ``viz/``)."""

from ncsweep.methods import (
    AUGMENTATIONS,
    METHOD_ORDER,
    SSL_LABELS,
    method_label,
    order_methods,
)

__all__ = ["AUGMENTATIONS", "METHOD_ORDER", "SSL_LABELS", "method_label", "order_methods"]
