"""Networks shared by pix2pix and CycleGAN: U-Net and ResNet generators, PatchGAN discriminator.

All take and return ``float32`` images in ``[-1, 1]``, NHWC. Built with Keras 3 (TensorFlow
backend); TensorFlow is imported only when a network is built.
"""

from __future__ import annotations


def unet_depth(size: int, min_size: int = 4, max_depth: int = 5) -> int:
    """How many stride-2 steps a U-Net can take on ``size`` px while staying >= ``min_size`` and even."""
    depth = 0
    while depth < max_depth and size % 2 == 0 and size // 2 >= min_size:
        size //= 2
        depth += 1
    return depth


def patchgan_receptive_field(n_down: int, kernel: int = 4) -> int:
    """Receptive field (px) of one output of :func:`patchgan_discriminator` with ``n_down`` stride-2 convs.

    The net is ``n_down`` convs of stride 2, one of stride 1, and the 1-channel output conv of
    stride 1, all ``kernel x kernel``; walking back from one output pixel, ``r <- r * stride +
    (kernel - stride)``. ``n_down = 3`` gives the 70x70 PatchGAN of Isola et al. (2017);
    ``n_down = 2`` -> 34 px, ``n_down = 1`` -> 16 px.
    """
    strides = [2] * n_down + [1, 1]
    r = 1
    for s in reversed(strides):
        r = r * s + (kernel - s)
    return r


def default_patch_layers(size: int) -> int:
    """Stride-2 layers so that a patch sees about half the image: 28 px -> 1 (16 px), 64 -> 2 (34), 128+ -> 3 (70)."""
    n = 1
    while n < 3 and patchgan_receptive_field(n + 1) <= size * 0.6:
        n += 1
    return n


def unet_generator(size: int, channels: int = 1, base_filters: int = 32, depth: int | None = None,
                   residual: bool = True, name: str = "generator"):
    """U-Net (Ronneberger et al., 2015; as the pix2pix generator, Isola et al., 2017).

    ``(B, size, size, channels)`` in ``[-1, 1]`` -> same shape in ``[-1, 1]``. A 3x3 conv at full
    resolution, then ``depth`` stride-2 4x4 convs (filters doubling up to 8x base, BatchNorm,
    LeakyReLU 0.2), mirrored by transposed convs (BatchNorm, ReLU) with skip connections
    concatenated at every scale. ``residual=True`` predicts a correction added to the input
    (clipped to ``[-1, 1]``), which suits denoising and super-resolution where output ~ input;
    ``residual=False`` is the paper's plain ``tanh`` output.
    """
    import keras
    from keras import layers

    depth = unet_depth(size) if depth is None else depth
    inputs = keras.Input((size, size, channels), name="input_image")
    x = layers.Conv2D(base_filters, 3, padding="same")(inputs)
    x = layers.LeakyReLU(0.2)(x)
    skips = [x]
    for d in range(depth):
        x = layers.Conv2D(base_filters * min(2 ** (d + 1), 8), 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
        skips.append(x)
    skips.pop()  # the bottleneck is x itself
    for d in reversed(range(depth)):
        x = layers.Conv2DTranspose(base_filters * min(2 ** d, 8), 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.Concatenate()([x, skips[d]])
    if residual:
        delta = layers.Conv2D(channels, 3, padding="same")(x)
        out = layers.Add()([inputs, delta])
        # clip to [-1, 1] with built-in layers only, so generator.keras reloads without custom objects
        out = layers.Rescaling(1.0, offset=1.0)(out)
        out = layers.ReLU(max_value=2.0)(out)
        out = layers.Rescaling(1.0, offset=-1.0, name="clip")(out)
    else:
        out = layers.Conv2D(channels, 3, padding="same", activation="tanh")(x)
    return keras.Model(inputs, out, name=name)


def resnet_generator(size: int, channels: int = 1, base_filters: int = 32, res_blocks: int = 4,
                     name: str = "generator"):
    """ResNet generator of CycleGAN (Johnson et al., 2016; Zhu et al., 2017), scaled to small images.

    ``(B, size, size, channels)`` in ``[-1, 1]`` -> same shape, ``tanh`` output. 7x7 conv, one
    stride-2 down-sampling (two when ``size >= 64``), ``res_blocks`` residual blocks, mirrored
    up-sampling; instance normalisation (GroupNormalization with one group per channel).
    """
    import keras
    from keras import layers

    def norm():
        return layers.GroupNormalization(groups=-1, epsilon=1e-5)

    n_down = 2 if size >= 64 else 1
    inputs = keras.Input((size, size, channels), name="input_image")
    x = layers.Conv2D(base_filters, 7, padding="same", use_bias=False)(inputs)
    x = layers.ReLU()(norm()(x))
    for d in range(n_down):
        x = layers.Conv2D(base_filters * 2 ** (d + 1), 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(norm()(x))
    filters = base_filters * 2 ** n_down
    for _ in range(res_blocks):
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        y = layers.ReLU()(norm()(y))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        x = layers.Add()([x, norm()(y)])
    for d in reversed(range(n_down)):
        x = layers.Conv2DTranspose(base_filters * 2 ** d, 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(norm()(x))
    out = layers.Conv2D(channels, 7, padding="same", activation="tanh")(x)
    return keras.Model(inputs, out, name=name)


def patchgan_discriminator(size: int, channels: int, base_filters: int = 32, n_down: int | None = None,
                           normalization: str = "batch", name: str = "discriminator"):
    """PatchGAN (Isola et al., 2017): a fully convolutional net giving one real/fake logit per patch.

    ``(B, size, size, channels)`` in ``[-1, 1]`` (pix2pix passes input and output concatenated,
    ``channels = 2``) -> logits ``(B, h, w, 1)``. Each logit sees a
    :func:`patchgan_receptive_field` (``n_down``) px square: 16 px for 28 px images, 34 px for
    64 px, 70 px from 128 px up (see :func:`default_patch_layers`). Judging patches rather than
    whole images makes the discriminator a texture/sharpness critic, which is what L1 misses.
    """
    import keras
    from keras import layers

    n_down = default_patch_layers(size) if n_down is None else n_down

    def norm():
        if normalization == "instance":
            return layers.GroupNormalization(groups=-1, epsilon=1e-5)
        return layers.BatchNormalization(momentum=0.9)

    inputs = keras.Input((size, size, channels), name="image")
    x = layers.Conv2D(base_filters, 4, strides=2, padding="same")(inputs)
    x = layers.LeakyReLU(0.2)(x)
    for d in range(1, n_down):
        x = layers.Conv2D(base_filters * min(2 ** d, 8), 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.LeakyReLU(0.2)(norm()(x))
    x = layers.Conv2D(base_filters * min(2 ** n_down, 8), 4, strides=1, padding="same", use_bias=False)(x)
    x = layers.LeakyReLU(0.2)(norm()(x))
    logits = layers.Conv2D(1, 4, strides=1, padding="same")(x)
    return keras.Model(inputs, logits, name=name)
