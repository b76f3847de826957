"""Reports: typed context -> Jinja templates (HTML, Markdown) and the JSON contract."""
