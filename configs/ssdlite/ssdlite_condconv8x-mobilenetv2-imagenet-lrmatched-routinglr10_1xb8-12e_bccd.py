# As ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-12e_bccd.py, with a 10x learning rate for the
# backbone's routing functions: the upcycled routing starts at zero weights, where its gradient is scaled by
# sigmoid'(b) = 7/64 and by how much the experts differ (noise 0.1), so it barely moves in 312 iterations at the base
# rate (the README's routing analysis). An ablation of the routing's learning speed, not a separate model.
_base_ = './ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-12e_bccd.py'

optim_wrapper = dict(paramwise_cfg=dict(condconv=dict(routing_lr_mult=10.)))
