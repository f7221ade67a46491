"""The SLA pages: templates, static assets and server-side charts."""
