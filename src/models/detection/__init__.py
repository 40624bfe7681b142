"""The book's SSD (chapter 11), vectorised: anchors (11.B), ground-truth assignment and offset encoding
(11.C), the losses (11.D) and non-maximum suppression (11.G), batched TensorFlow with no per-image loops."""
