"""task=export: a checkpoint as a served model, preprocessing inside (`endpoints`), in one of
Keras 3's export formats, reloaded and checked against the Keras model before it is kept (`formats`)."""
