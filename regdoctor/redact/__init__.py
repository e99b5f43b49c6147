"""The one place output is masked: secrets (``secrets``) and, with ``--redact-hosts``,
internal host and user names (``hosts``)."""
