"""Darknet's own files: ``.cfg`` text (:mod:`.cfg`), ``.weights`` (:mod:`.weights`) and darknet's published
weights by name (:mod:`.hub`). It builds on the networks of ``models/``, which never import it; names files and
the bundled lists are :mod:`yolo9000.names`, our ``.pt`` checkpoints :mod:`yolo9000.checkpoints`."""
