"""The Keras models: the default MLP and the small convnet, built from their config, and compiling.

Both architectures take ``(28, 28)`` float inputs in [0, 1] and end in a 10-way softmax, so every
other step (evaluation, recognition, the NumPy forward pass) works with either. Keras is imported
inside the functions so that importing this module stays cheap.
"""

from number_recognition import config
from number_recognition import keras_import


def build_mlp(settings):
    """Flatten -> (Dense ReLU -> Dropout) per hidden layer -> Dense softmax, from an ``MLPConfig``."""
    keras = keras_import.import_keras()
    layers = [keras.Input((config.IMAGE_SIZE, config.IMAGE_SIZE)), keras.layers.Flatten()]
    for units in settings.hidden_units:
        layers.append(keras.layers.Dense(units, activation="relu"))
        if settings.dropout > 0:
            layers.append(keras.layers.Dropout(settings.dropout))
    layers.append(keras.layers.Dense(config.NUM_CLASSES, activation="softmax"))
    return keras.Sequential(layers, name="mlp")


def build_cnn(settings):
    """3x3 convolution blocks (batch norm, ReLU), max pooling between resolutions, then a dense head."""
    keras = keras_import.import_keras()
    size = config.IMAGE_SIZE
    layers = [keras.Input((size, size)), keras.layers.Reshape((size, size, 1))]
    for index, filters in enumerate(settings.blocks):
        if index:
            layers.append(keras.layers.MaxPooling2D())
        for count in filters:
            layers += [
                keras.layers.Conv2D(count, 3, padding="same", use_bias=False),
                keras.layers.BatchNormalization(),
                keras.layers.Activation("relu"),
            ]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(settings.dense_units, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Dropout(settings.dropout),
        keras.layers.Dense(config.NUM_CLASSES, activation="softmax"),
    ]
    return keras.Sequential(layers, name="cnn")


BUILDERS = {"mlp": build_mlp, "cnn": build_cnn}


def build_model(settings):
    """Build the model a ``config.MLPConfig`` or ``config.CNNConfig`` describes."""
    return BUILDERS[settings.architecture](settings)


def compile_model(model, learning_rate, total_steps, label_smoothing):
    """Adam with a cosine-decayed learning rate over ``total_steps``, cross-entropy, accuracy."""
    keras = keras_import.import_keras()
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, total_steps))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
    return model
