"""Quality metrics computed offline (MNIST-FID, label-control accuracy)."""
