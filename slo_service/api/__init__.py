"""HTTP: one router per resource; routes parse, call a service, and shape the answer."""
