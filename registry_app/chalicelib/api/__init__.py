"""The HTTP edge: route decoding, request and answer schemas, the constrained field types, /openapi.json."""
