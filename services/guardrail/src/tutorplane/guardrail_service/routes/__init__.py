"""HTTP routes: ``check`` (the batch endpoint) and ``health`` (probes and metrics)."""
