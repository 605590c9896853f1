"""Ray Tune building blocks for sweeps: search spaces, schedulers, searchers and the divergence stopper."""
