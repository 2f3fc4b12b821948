"""The procedural shapes world: attributes, captions, rendering and the Dataset."""
