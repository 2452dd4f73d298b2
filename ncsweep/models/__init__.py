"""Neural networks of ncsweep: the stage-1 tokenizer (stft, encoder, decoder, vq, stage1),
its SSL heads (projector, iternorm), the stage-2 prior (maskgit) and the evaluator (fcn).

Import from the submodules (``from ncsweep.models.stage1 import Stage1Model``) so that each
caller pulls in only what it uses.
"""
