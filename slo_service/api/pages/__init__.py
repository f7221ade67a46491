"""The SLA pages: their routes and sign-in (``routes``), the Jinja2 rendering over ``web/``
(``render``), the inline SVG charts (``charts``) and the forms' cross-site checks (``forms``)."""
