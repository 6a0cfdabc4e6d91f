"""Vision experiments: classifiers, detection, segmentation, captioning, model understanding, efficient inference."""
