"""Neural models: the task-oriented student (encoder, channel-adaptive module, decoder/classifier), the latent JSCC codec and the condition-aware LoRA layers (CALA). Import from the submodules."""
