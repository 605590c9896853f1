"""The `image` modality: DCGAN and SN-ResNet GANs (under construction)."""
