"""The `audio` modality: WaveGAN (under construction)."""
