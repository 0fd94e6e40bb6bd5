"""The claims study: the papers' central claims tested side by side on the zoo's CPU-scale tasks.

One command per claim (``python -m lab.study collapse|ffonly|external|generation [--quick]``, :mod:`.cli`):

* :mod:`.collapse` - DeepViT: attention collapse and depth (self-attention vs Re-attention, 4 to 32 blocks);
  :mod:`.reattention_scale` (``reattention-scale``) its follow-up: why Re-attention stays at chance in 2 of 3
  seeds at 16 blocks (the re-attention scale).
* :mod:`.ffonly` - FF-only: do you even need attention (with a no-token-mixing control, ``IdentityMixer``,
  and a harder task built from the digits, :mod:`.data`), and how much comes from the patch embedding.
* :mod:`.external` - External attention: cost against tokens, accuracy against memory size, every task.
* :mod:`.generation` - External attention in a GAN: SAGAN's attention block with every mixer and two controls.

Every run trains in a fresh process through the zoo's tools and is cached by the hash of its settings
(:mod:`.runner`); tables and plots come from :mod:`.report`. Importing this package changes nothing
global and imports no study module.
"""
