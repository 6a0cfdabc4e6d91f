"""Networks and their parts: layers, recurrent cells, backbones, encoders, optimisers and regularisers by name, backpropagation by hand, gradient checks."""
