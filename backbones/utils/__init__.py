"""The ground floor: utilities every layer may use and that know nothing of models, tasks or OpenMMLab's registries:
atomic files and digests (:mod:`.files`), class folders and image decoding (:mod:`.folders`), the machine a figure was
measured on (:mod:`.machine`) and the memory allocator (:mod:`.allocator`)."""
