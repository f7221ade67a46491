"""The drift store: references and production batches measured against them (``store``), and
what it answers (``views``)."""
