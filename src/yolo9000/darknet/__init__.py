"""Darknet's own files: ``.cfg`` text (:mod:`.cfg`), ``.weights`` (:mod:`.weights`, with our ``.pt``
checkpoints), names files (:mod:`.names`), the bundled data (``data/``: ``9k.tree``, ``voc.names``, ...)
and darknet's published weights by name (:mod:`.hub`)."""
