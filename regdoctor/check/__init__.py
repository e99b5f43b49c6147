"""A run of ``check``: the request (``request``), its plan (``plan``: options, targets,
the configuration's observations), the pipeline that probes and judges (``pipeline``),
and the one mapping from a report to an exit code (``exit``). Every command that checks
registries (check, serve, bundle, tui, explain --check, tags, bench) goes through here."""
