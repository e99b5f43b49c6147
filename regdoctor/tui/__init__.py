"""``regdoctor tui``: interactive triage in the terminal (Textual).

A thin layer over the same engine ``regdoctor check`` and ``regdoctor explain`` use: it
starts one check per target in a Textual worker, and renders the
:class:`~regdoctor.model.TargetReport` each one returns. No verdict is computed here.

Layout (the frogmouth/harlequin shape): :mod:`.app` (the App: bindings, workers),
:mod:`.session` (which targets, which results), :mod:`.engine_bridge` (the only module
that calls the runner), :mod:`.explain_adapter` (the only one that calls ``explain``),
:mod:`.look` (marks, styles, bars: presentation only), one module per screen in
``screens/`` and per widget in ``widgets/``, styles in ``*.tcss``.

Nothing outside this package imports it except ``regdoctor.cli.tui``.
"""
