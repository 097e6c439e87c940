"""``genforge sample``: draw images from a trained generator or diffusion model into a PNG grid."""
from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """Examples:
  genforge sample configs/dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py ckpt.pth --out grid.png
  genforge sample my_cgan.py ckpt.pth --num 16 --label 3 --sample-model orig --save-dir samples/
  genforge sample configs/singan/singan_fish.py ckpt.pth --num 4 --size 48x96 --out fish.png
  genforge sample my_stylegan2.py ckpt.pth --truncation 0.7 --seed 1
  genforge sample configs/improved_ddpm/ddpm_cosine_hybird_timestep-4k_drop0.3_cifar10_32x32_b8x16_500k.py \
      ckpt.pth --steps 50      # diffusion: 50 respaced steps instead of the full chain
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('sample', help='sample a trained generator into a PNG grid',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--num', type=int, default=64, help='number of images (default 64)')
    p.add_argument('--out', default='grid.png', help='output grid PNG (default grid.png)')
    p.add_argument('--nrow', type=int, default=None, help='images per row (default √num)')
    p.add_argument('--seed', type=int, default=0, help='noise seed (default 0)')
    p.add_argument('--sample-model', choices=['ema', 'orig'], default=None,
                   help='EMA or original generator (default: ema when the model has one)')
    p.add_argument('--label', type=int, default=None, help='class label for conditional GANs')
    p.add_argument('--save-dir', default=None, help='also write each image as a PNG here')
    p.add_argument('--truncation', type=float, default=None,
                   help='truncation psi of style-based generators, e.g. 0.7 (default: none)')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--size', type=_parse_size, default=None, metavar='HxW',
                   help='output size for models that generate at several sizes (SinGAN, MS-PIE), '
                        'e.g. 48x96')
    p.add_argument('--device', default='cpu', help='cpu or cuda[:N]')
    p.add_argument('--steps', default=None,
                   help='diffusion models: respaced sampling chain, e.g. 50 or ddim25 '
                        '(default: the full chain of model.num_timesteps)')
    from ._common import add_cfg_options, add_data_root
    add_data_root(p)
    add_cfg_options(p)
    p.set_defaults(func=run)


def _parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().split('x')
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f'--size {text!r}: use HEIGHTxWIDTH, e.g. 48x96')
    return int(parts[0]), int(parts[1])


def build_model_from_checkpoint(config: str, checkpoint: str, cfg_options=None, device='cpu',
                                data_root: str | None = None):
    """``genforge.apis.init_model`` with the CLI's one-line errors for missing files and for
    restoration configs."""
    from genforge.apis import init_model

    from ._common import check_file, load_config
    cfg = load_config(config, cfg_options, data_root)
    check_file(checkpoint, 'checkpoint')
    from ._common import is_edit_model
    if is_edit_model(cfg):
        from genforge.cli import CLIError
        raise CLIError(f'{config} builds the restoration model {cfg.model.type}, which restores '
                       f'input images instead of sampling; use `genforge restore {config} '
                       f'{checkpoint} INPUT --out DIR`')
    return init_model(cfg, checkpoint, device)


def _check_truncation(model, truncation: float | None) -> dict:
    """``sample_kwargs`` for ``--truncation``; an error when the generator has no such input."""
    import inspect
    if truncation is None:
        return {}
    gen = getattr(model, 'generator', None)
    if gen is None or 'truncation' not in inspect.signature(gen.forward).parameters:
        from genforge.cli import CLIError
        raise CLIError(f'--truncation {truncation}: the generator of {type(model).__name__} has '
                       f'no truncation input (StyleGAN generators do)')
    return dict(truncation=truncation)


def is_diffusion(model) -> bool:
    """Diffusion models sample through a chain of denoising steps (``sample_from_noise``)."""
    return hasattr(model, 'sample_from_noise') and hasattr(model, 'schedule')


def check_steps(model, steps: str | None) -> int | str | None:
    """``--steps`` as the model's ``timestep_respacing`` (an int or 'ddimN')."""
    from genforge.cli import CLIError
    if steps is None:
        return None
    if not is_diffusion(model):
        raise CLIError(f'--steps {steps}: {type(model).__name__} is not a diffusion model')
    value = int(steps) if str(steps).isdigit() else str(steps)
    count = value if isinstance(value, int) else int(value[4:]) \
        if value.startswith('ddim') and value[4:].isdigit() else None
    if count is None or not 2 <= count <= model.num_timesteps:
        raise CLIError(f'--steps {steps}: give a number of steps in 2..{model.num_timesteps} '
                       f'(model.num_timesteps) or ddimN')
    return value


def generate(model, num: int, sample_model: str, label: int | None, batch_size: int,
             sample_kwargs: dict | None = None, size: tuple[int, int] | None = None):
    """``num`` samples as a list of DataSample with ``fake_img`` (``size``: (H, W) output)."""
    import torch

    from genforge.structures import DataSample
    if label is not None and not getattr(model, 'num_classes', 0):
        from genforge.cli import CLIError
        raise CLIError(f'--label {label}: {type(model).__name__} is not a conditional GAN')
    if size is not None and not getattr(model, 'supports_output_size', False):
        from genforge.cli import CLIError
        raise CLIError(f'--size: {type(model).__name__} generates at its trained size only '
                       f'(--size is for SinGAN and MS-PIE models)')
    if label is not None and not 0 <= label < model.num_classes:
        from genforge.cli import CLIError
        raise CLIError(f'--label {label}: {type(model).__name__} has {model.num_classes} classes '
                       f'(labels 0 .. {model.num_classes - 1})')
    samples = []
    with torch.no_grad():
        for start in range(0, num, batch_size):
            n = min(batch_size, num - start)
            data = dict(inputs=dict(num_batches=n, sample_model=sample_model,
                                    sample_kwargs=dict(sample_kwargs or {})))
            if size is not None:
                data['inputs']['output_size'] = size
            if label is not None:
                data['data_samples'] = [DataSample().set_gt_label(label) for _ in range(n)]
            out = model.val_step(data)
            samples.extend(out if isinstance(out, list) else out.split())
    return samples


def check_sample_args(args) -> None:
    """Counts must be positive; no output may replace the config, the checkpoint or a non-PNG."""
    from genforge.cli import CLIError

    from ._common import refuse_overwrite
    for flag, value in (('--num', args.num), ('--batch-size', args.batch_size),
                        ('--nrow', args.nrow)):
        if value is not None and value < 1:
            raise CLIError(f'{flag} {value}: must be at least 1')
    outputs = [args.out] + ([Path(args.save_dir) / f'{i:05d}.png' for i in range(args.num)]
                            if args.save_dir else [])
    refuse_overwrite(outputs, [args.config, args.checkpoint])
    from ._common import check_device
    check_device(args.device)


def run(args) -> int:
    import math

    import torch

    from genforge.hooks.visualization_hook import sample_display_kwargs
    from genforge.visualization import save_image_grid, save_png, to_uint8_image
    check_sample_args(args)
    torch.manual_seed(args.seed)
    model = build_model_from_checkpoint(args.config, args.checkpoint, args.cfg_options, args.device,
                                       args.data_root)
    has_ema = getattr(model, 'with_ema_gen', False)
    sample_model = args.sample_model or ('ema' if has_ema else 'orig')
    if sample_model == 'ema' and not has_ema:
        from genforge.cli import CLIError
        raise CLIError('--sample-model ema: this model was trained without ema_config')
    sample_kwargs = _check_truncation(model, getattr(args, 'truncation', None))
    steps = check_steps(model, args.steps)
    if is_diffusion(model):
        samples = _generate_with_progress(model, args.num, sample_model, args.label,
                                          args.batch_size, steps)
    else:
        samples = generate(model, args.num, sample_model, args.label, args.batch_size,
                           sample_kwargs, size=args.size)
    disp = sample_display_kwargs(model)
    imgs = torch.stack([s.fake_img.detach().float().cpu() for s in samples])
    imgs = imgs * disp['target_std'] + disp['target_mean']  # -> [0, 255]
    if disp['color_order'] == 'bgr' and imgs.size(1) == 3:
        imgs = imgs.flip(1)
    nrow = args.nrow or max(1, int(math.ceil(math.sqrt(args.num))))
    save_image_grid(imgs, args.out, nrow=nrow, value_range=(0., 255.))
    if args.save_dir:
        for i, img in enumerate(imgs):
            save_png(to_uint8_image(img, (0., 255.)), Path(args.save_dir) / f'{i:05d}.png')
    print(f'wrote {args.out} ({args.num} samples, sample_model={sample_model})')
    return 0


def _generate_with_progress(model, num: int, sample_model: str, label: int | None,
                            batch_size: int, steps: int | str | None) -> list:
    """Diffusion sampling with a progress bar over the denoising steps of every batch."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    chain = len(model.get_schedule(timestep_respacing=steps).timestep_map)
    batches = -(-num // batch_size)
    with Progress(TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn()) as bar:
        task = bar.add_task(f'denoising ({chain} steps x {batches} batches)',
                            total=chain * batches)
        kwargs = dict(progress=lambda done, total: bar.advance(task))
        if steps is not None:
            kwargs['timestep_respacing'] = steps
        return generate(model, num, sample_model, label, batch_size, kwargs)
