"""fwinfer - Python binding of libfwinfer (pure ctypes, no dependencies).

    import fwinfer
    with fwinfer.Model('stories260K.gguf') as model:
        r = model.generate('Once upon a time', max_tokens=32, temperature=0)
        print(r['choices'][0]['text'])
        for chunk in model.generate('Once upon a time', stream=True, max_tokens=32):
            print(chunk['choices'][0]['text'], end='', flush=True)

Requests are passed to the library as JSON bodies with the Fireworks/OpenAI
field names, model and context parameters as JSON objects by name
(Model(path, n_ctx=..., n_threads=..., n_seq_max=..., isa=...)), and
responses and streaming events come back as the library renders them
(fw_result_to_json, fw_event_to_json), so no C structure layout is mirrored.

The library is found through the FWINFER_LIB environment variable (a path
to libfwinfer.so), else pkg-config's libdir for fwinfer, else the system's
library search.  Importing fails with ImportError if it cannot be loaded or
its ABI major version differs from ABI_MAJOR.
"""
from ._lib import ABI_MAJOR, Error, lib as _clib, path as library_path
from ._model import Model, Stream

__version__ = '0.1.0'
__all__ = ['ABI_MAJOR', 'Error', 'Model', 'Stream', 'library_path', 'version']


def version():
    """The version of the loaded libfwinfer, e.g. "0.1.0"."""
    return _clib.fw_version_string().decode('ascii')
