"""The SageMaker runtime stand-in: InvokeEndpoint in front of one model server per framework."""
