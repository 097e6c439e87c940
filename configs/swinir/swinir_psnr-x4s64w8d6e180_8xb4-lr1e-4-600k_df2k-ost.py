_base_ = ['swinir_psnr-x2s64w8d6e180_8xb4-lr1e-4-600k_df2k-ost.py']

experiment_name = 'swinir_psnr-x4s64w8d6e180_8xb4-lr1e-4-600k_df2k-ost'
work_dir = f'./work_dirs/{experiment_name}'
save_dir = './work_dirs/'

scale = 4

# model settings
model = dict(generator=dict(upscale=scale))

# genforge training section: x4 GT patches (the LQ patch stays 64 px), Set5 x4, crop border
train_dataloader = _base_.train_dataloader
train_dataloader['dataset']['pipeline'][1]['crop_size'] = (64 * scale, 64 * scale)
val_dataloader = _base_.val_dataloader
val_dataloader['dataset']['data_prefix']['img'] = f'LRbicx{scale}'
val_evaluator = [
    dict(type='PSNR', crop_border=scale),
    dict(type='SSIM', crop_border=scale),
]
