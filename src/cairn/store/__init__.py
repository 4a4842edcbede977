"""Storage back ends: the only code that touches SQL, object storage or a remote server."""
