"""The `sequence` modality: token GANs and continuous series (under construction)."""
