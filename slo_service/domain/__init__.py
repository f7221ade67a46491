"""Pure logic: windows, SLI specs, kind templates, scopes. No I/O, no settings, no sessions."""
