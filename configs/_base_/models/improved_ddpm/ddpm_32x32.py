# Improved DDPM (Nichol & Dhariwal, 2021) at 32x32: cosine schedule, 4000 steps, hybrid loss
# (MSE on the noise + the variational bound, rescaled by T/1000, on the learned-range variance).
num_timesteps = 4000
model = dict(
    type='BasicGaussianDiffusion',
    num_timesteps=num_timesteps,
    data_preprocessor=dict(type='DataPreprocessor'),
    betas_cfg=dict(type='cosine'),
    denoising=dict(
        type='DenoisingUnet',
        image_size=32,
        in_channels=3,
        base_channels=128,
        resblocks_per_downsample=3,
        attention_res=[16, 8],
        use_scale_shift_norm=True,
        dropout=0,
        num_heads=4,
        use_rescale_timesteps=True,
        output_cfg=dict(mean='eps', var='learned_range')),
    timestep_sampler=dict(type='UniformTimeStepSampler'),
    ddpm_loss=[
        dict(
            type='DDPMVLBLoss',
            rescale_mode='constant',
            rescale_cfg=dict(scale=num_timesteps / 1000),
            data_info=dict(
                mean_pred='mean_pred',
                mean_target='mean_posterior',
                logvar_pred='logvar_pred',
                logvar_target='logvar_posterior'),
            log_cfgs=[
                dict(type='quartile', prefix_name='loss_vlb', total_timesteps=num_timesteps),
                dict(type='name')
            ]),
        dict(
            type='DDPMMSELoss',
            log_cfgs=dict(type='quartile', prefix_name='loss_mse', total_timesteps=num_timesteps))
    ],
    # MMGeneration's ExponentialMovingAverageHook(interp_cfg=dict(momentum=0.9999)):
    # MMEngine weights the NEW parameters, hence 1 - 0.9999
    ema_config=dict(type='ExponentialMovingAverage', interval=1, momentum=0.0001))

