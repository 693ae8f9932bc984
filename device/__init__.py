"""edge-kit device runtime: the preprocessing contract and TFLite classification, with no TensorFlow."""
