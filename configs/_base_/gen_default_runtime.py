# Runtime shared by the GAN configs (MMagic 1.x layout; default_scope 'mmagic' is accepted).
default_scope = 'mmagic'

randomness = dict(seed=2022, diff_rank_seed=True)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
log_processor = dict(type='LogProcessor', by_epoch=False)

load_from = None
resume = None

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    checkpoint=dict(
        type='CheckpointHook',
        interval=10000,
        by_epoch=False,
        max_keep_ckpts=20,
        less_keys=['FID-Full-50k/fid', 'FID-50k/fid', 'swd/avg'],
        greater_keys=['IS-50k/is', 'ms-ssim/avg'],
        save_optimizer=True))

# G and D are wrapped separately: each has its own optimizer step schedule.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)

vis_backends = [dict(type='VisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

train_cfg = dict(by_epoch=False, val_begin=1, val_interval=10000)
val_cfg = dict(type='MultiValLoop')
val_evaluator = dict(type='Evaluator')
test_cfg = dict(type='MultiTestLoop')
test_evaluator = dict(type='Evaluator')

# one optimizer per submodule: optim_wrapper.generator / optim_wrapper.discriminator
optim_wrapper = dict(constructor='MultiOptimWrapperConstructor')
