"""API shapes: what clients send (XCreate/XPatch) and get (XPublic), one module per resource."""
