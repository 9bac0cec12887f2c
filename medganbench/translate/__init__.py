"""Image-to-image translation: tasks built from real images, metrics, baselines and runs.

- :mod:`medganbench.translate.tasks`: the task registry (``denoise-mr``, ``denoise-xray``,
  ``superres-mr``, ``pneumonia-to-normal``) and the pair builders.
- :mod:`medganbench.translate.metrics`: PSNR, SSIM, MAE and the classical baselines.
- :mod:`medganbench.translate.run`: train a pix2pix/CycleGAN on a task and evaluate it.

Importing this package imports neither TensorFlow nor torch. Notebook 07 teaches it.
"""
