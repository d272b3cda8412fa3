"""The CRNN and what it reads: lines and images (data), batches, the model, warm starts,
reading with a saved model (infer), the metrics, and pictures of the training curves."""
