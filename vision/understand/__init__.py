"""Looking inside a trained network: saliency and its relatives, adversarial examples, style and textures, fooling images, maximal patches, embeddings."""
