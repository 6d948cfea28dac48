"""The MXNet backend: the project's MME container (Multi Model Server) as a local process."""
