"""Azure: subscription discovery (any cloud) and collectors for GPU VMs and Azure OpenAI usage."""
