"""The registry console: web pages over the registry's REST API and the client library.

A small Python HTTP process renders every page on the server (read pages work without
JavaScript) and calls only the REST API (`client.registry_api`) and the client library
(`AliasClient` for "Try it"); it holds no registry logic and reads no table. Locally `make up`
starts it beside the stack; against AWS `python -m client console` serves it on 127.0.0.1 and
signs the API calls with the caller's own credentials (SigV4), which never reach the browser.
"""
