"""The generative system (DeKA-g): generators, the offline edge LDM, MAKD (metaword + LoRA distillation), and the end-to-end generative link. Import from the submodules."""
