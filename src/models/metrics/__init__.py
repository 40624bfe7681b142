"""Quality metrics computed offline (MNIST-FID, label-control accuracy, detection mIoU and AP)."""
