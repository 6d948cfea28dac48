"""`mme-registry plan`: how many instances of which type serve a traffic within a p99 target, simulated.

A multi-model endpoint caches models in each instance's memory and on its disk, and unloads or deletes
them only when a newly targeted model needs the room; it routes a request to an instance where its model is
loaded; memory is the cache, vCPUs the concurrency (AWS, Amazon SageMaker developer guide):
- https://docs.aws.amazon.com/sagemaker/latest/dg/multi-model-caching.html (caching, ModelCacheSetting)
- https://docs.aws.amazon.com/sagemaker/latest/dg/multi-model-endpoint-instance.html (instance recommendations)
- https://docs.aws.amazon.com/sagemaker/latest/dg/multi-model-endpoints.html (how MMEs load, route, unload)
- https://docs.aws.amazon.com/sagemaker/latest/dg/host-instance-storage.html (the MME storage volume)
- https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_MultiModelConfig.html (ModelCacheSetting)

AWS gives guidance, not a tool: this is a small discrete-event simulation of that behaviour (simulator.py),
with one rule for a model's memory (memory.py) that the local gateway's budget uses too, so a plan can be
checked against the local stack with real models. Pure Python: it ships in the client wheel.
"""
