"""Everything a user reads: failure text, terminal summary, JSON, Markdown and bundles."""
