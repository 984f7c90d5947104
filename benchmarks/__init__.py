"""simsop's benchmarks: speed against a bare SimPy loop and against peer libraries (not part of the package).

Run ``python benchmarks/run.py`` (``--quick`` for CI) and ``python benchmarks/profile.py``; see README.md.
"""
