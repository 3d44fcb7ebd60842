"""The kernel: what every app stands on (exceptions and problem documents, redaction, roles,
permissions, pagination and filters, outbound HTTP, broker publishing, throttling, auth
backends, the OpenAPI extensions, middleware, parsers and the console's admin kit).
It imports no app of this project; the import contracts in pyproject.toml hold it to that."""
