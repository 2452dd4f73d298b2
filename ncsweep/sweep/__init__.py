"""Running studies on Ray Tune (the only package that imports Ray; lazily, module by module).

``driver.run_study`` / ``resume_study`` run a study; ``searcher.DependencySearcher`` schedules
it; ``trainables.StudyTrainable`` runs one trial; ``ledger.Ledger`` is the storage directory's
record of every trial (readable without Ray).
"""
