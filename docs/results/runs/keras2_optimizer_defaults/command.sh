#!/bin/sh
# What Keras 2 builds for the book's optimizer strings ('sgd', 'adam', 'rmsprop'); no training.
# Run 2026-12-06 on the project's 2-core VM; its output is output.txt beside this file.
python3.11 -m venv /tmp/keras2 && /tmp/keras2/bin/pip install -q 'tensorflow-cpu==2.15.*'
TF_CPP_MIN_LOG_LEVEL=3 /tmp/keras2/bin/python -c "
import tensorflow as tf, keras
print('tensorflow', tf.__version__, 'keras', keras.__version__)
for name in ('sgd','adam','rmsprop'):
    o = tf.keras.optimizers.get(name); c = o.get_config()
    print(name, type(o).__module__ + '.' + type(o).__name__, {k: c[k] for k in c if k in ('learning_rate','momentum','nesterov','rho','epsilon','beta_1','beta_2','weight_decay','use_ema')})
for cls in (tf.keras.optimizers.legacy.SGD, tf.keras.optimizers.legacy.RMSprop, tf.keras.optimizers.legacy.Adam):
    c = cls().get_config(); print('legacy', cls.__name__, {k: c[k] for k in c if k in ('learning_rate','momentum','nesterov','rho','epsilon','beta_1','beta_2','centered')})
" 2>&1 | grep -E '^(tensorflow|sgd|adam|rmsprop|legacy) '
