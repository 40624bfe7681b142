"""Segmentation and localisation (book ch. 12, Pattanayak ch. 6): the classical methods with no
training loop, the FCN, U-Net and encoder-decoder networks on masks, and the class + box localiser."""
