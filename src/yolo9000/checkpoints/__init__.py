"""Networks from files, above both ``models/`` and ``darknet/``: our own ``.pt`` checkpoint format (:mod:`.format`:
built, saved and loaded in one place each) and a zoo name / darknet ``.cfg`` / checkpoint (+ darknet ``.weights``
or a checkpoint) -> a network ready to run (:mod:`.loading`)."""
