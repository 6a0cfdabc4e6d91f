"""Data: the built-in and user data sets as tensors, preprocessing, the seeded minibatch order, safe file reading, digit scenes."""
