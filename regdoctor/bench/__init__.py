"""``regdoctor bench``: pull speed per endpoint (``measure``)."""
