"""Edits made through ``_base_`` in a .py config reach the merged config (MMEngine semantics)."""
from genforge.config import Config


def test_inplace_and_assigned_base_edits_propagate(tmp_path):
    (tmp_path / 'base.py').write_text(
        "loader = dict(dataset=dict(pipeline=[dict(type='Load')]), batch_size=1)\n"
        "other = dict(pipeline=[dict(type='Load')])\n")
    (tmp_path / 'child.py').write_text(
        "_base_ = ['base.py']\n"
        "pipe = _base_.loader.dataset.pipeline\n"
        "pipe += [dict(type='Pack')]\n"                      # in place, as MMagic's configs do
        "_base_.other.pipeline = [dict(type='Other')]\n"     # assignment through _base_
        "loader = dict(batch_size=4)\n")
    cfg = Config.fromfile(str(tmp_path / 'child.py'))
    assert [t['type'] for t in cfg.loader.dataset.pipeline] == ['Load', 'Pack']
    assert cfg.loader.batch_size == 4
    assert [t['type'] for t in cfg.other.pipeline] == ['Other']
    # the base file itself is unchanged when loaded on its own
    assert [t['type'] for t in Config.fromfile(str(tmp_path / 'base.py')).loader.dataset.pipeline] \
        == ['Load']
