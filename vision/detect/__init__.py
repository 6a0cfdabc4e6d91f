"""Tasks on digit scenes: boxes and mAP, single-shot detection, semantic segmentation, captioning."""
