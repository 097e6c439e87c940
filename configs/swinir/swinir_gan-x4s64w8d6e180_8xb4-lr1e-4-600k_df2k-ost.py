_base_ = ['swinir_psnr-x4s64w8d6e180_8xb4-lr1e-4-600k_df2k-ost.py']

# The same network as the PSNR config; MMagic ships it for the GAN-trained (perceptual) weights.
# Like MMagic's, this config trains with the L1 loss only: no discriminator.
experiment_name = 'swinir_gan-x4s64w8d6e180_8xb4-lr1e-4-600k_df2k-ost'
work_dir = f'./work_dirs/{experiment_name}'
save_dir = './work_dirs/'
