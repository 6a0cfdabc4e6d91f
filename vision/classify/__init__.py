"""Image classifiers: k-nearest neighbours, linear (softmax, SVM), the MLP, transfer learning."""
