"""Efficient inference: pruning, weight sharing, int8 quantisation, and architecture complexity."""
