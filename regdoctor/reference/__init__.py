"""Names: the image reference grammar (``grammar``), what a TARGET argument means
(``targets``), and every Docker Hub name and alias in one place (``dockerhub``)."""
