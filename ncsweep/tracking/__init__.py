"""MLflow tracking of studies (the only package that imports MLflow, and only lazily).

One experiment per study, one parent run per study (tag ``ncsweep.role=parent``), one child run
per trial (found by tag ``ncsweep.trial_key``, reused by re-runs). Logging never kills a trial:
see :mod:`ncsweep.tracking.resilient` for the retry-then-queue behaviour.
"""

from ncsweep.tracking.client import CorruptStoreError, check_sqlite, default_tracking_uri
from ncsweep.tracking.read import StoreError, StudyRuns, load_study, resolve_store
from ncsweep.tracking.resilient import RetryPolicy, TrackingUnavailableWarning
from ncsweep.tracking.study import StudyTracker, count_seeds
from ncsweep.tracking.trial import TrialTracker

__all__ = [
    "CorruptStoreError",
    "check_sqlite",
    "RetryPolicy",
    "StoreError",
    "StudyRuns",
    "StudyTracker",
    "TrackingUnavailableWarning",
    "TrialTracker",
    "count_seeds",
    "default_tracking_uri",
    "load_study",
    "resolve_store",
]
