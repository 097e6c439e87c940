"""Config for the `config-f` setting in StyleGAN2."""

_base_ = ['./stylegan2_c2_8xb4-800kiters_ffhq-256x256.py']

model = dict(loss_config=dict(r1_use_apex_amp=False, g_reg_use_apex_amp=False))

train_cfg = dict(max_iters=800002)

# MMGeneration's apex setting: genforge has no apex; this key is ignored (see docs/stylegan2.md)
apex_amp = dict(mode='gan', init_args=dict(opt_level='O1', num_losses=2))
resume_from = None
