"""Applications built on the library: what the commands run (the playground's page and server)."""
