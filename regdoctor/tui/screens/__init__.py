"""One module per screen (and its ``.tcss`` beside it)."""
