"""Finding and loading libfwinfer, the C declarations the binding uses, and
the error type.

Everything crosses the boundary as opaque handles, scalars, byte strings
and JSON text: model and context parameters go by name as JSON objects
(fw_model_load_json, fw_context_new_json), requests as JSON bodies
(fw_generate_json), and the streaming callback's event is an opaque pointer
that fw_event_to_json renders.  No C structure layout is mirrored here, so a
newer libfwinfer whose structures grew keeps working with this binding.
"""
import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

# The ABI major version this binding is written for (FW_VERSION_MAJOR).  The
# library's soname carries it: libfwinfer.so.0.
ABI_MAJOR = 0

# Status codes (fixed values, never renumbered; include/fwinfer.h).
OK = 0
E_BUFFER_TOO_SMALL = -8
E_CANCELLED = -9

# Flags (include/fwinfer.h).
TOKENIZE_ADD_SPECIAL = 1
TOKENIZE_PARSE_SPECIAL = 2
DETOK_REMOVE_SPECIAL = 1
DETOK_UNPARSE_SPECIAL = 2


class Error(Exception):
    """A libfwinfer call failed.

    status  the numeric code (negative), e.g. -11
    name    its name, e.g. "FW_E_RANGE"
    message the library's message, e.g. "temperature = 5 is out of range [0, 2]"
    """

    def __init__(self, status, name, message):
        super().__init__('%s: %s' % (name, message))
        self.status = status
        self.name = name
        self.message = message


def _shared_names():
    if sys.platform == 'darwin':
        return ['libfwinfer.%d.dylib' % ABI_MAJOR, 'libfwinfer.dylib']
    if sys.platform == 'win32':
        return ['fwinfer-%d.dll' % ABI_MAJOR, 'fwinfer.dll', 'libfwinfer.dll']
    return ['libfwinfer.so.%d' % ABI_MAJOR, 'libfwinfer.so']


def _candidates():
    """Where to look, in order: FWINFER_LIB, pkg-config (fwinfer's libdir
    and -L folders), the system's search (ctypes.util.find_library).
    Yields (path, origin)."""
    env = os.environ.get('FWINFER_LIB')
    if env:
        if os.path.isdir(env):
            for name in _shared_names():
                yield os.path.join(env, name), 'FWINFER_LIB=%s' % env
        else:
            yield env, 'FWINFER_LIB=%s' % env
        return  # an explicit choice is never second-guessed
    # pkg-config: the libdir variable, then the -L folders (an uninstalled
    # build's fwinfer-uninstalled.pc has the right folder only there)
    dirs = []
    for args in (['--variable=libdir'], ['--libs-only-L']):
        try:
            out = subprocess.run(['pkg-config'] + args + ['fwinfer'],
                                 capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            break  # no pkg-config
        if out.returncode == 0:
            dirs += [w[2:] if w.startswith('-L') else w for w in out.stdout.split()]
    for d in dict.fromkeys(dirs):
        for name in _shared_names():
            path = os.path.join(d, name)
            if os.path.exists(path):
                yield path, 'pkg-config fwinfer (%s)' % d
    found = ctypes.util.find_library('fwinfer')
    if found:
        yield found, 'ctypes.util.find_library'


def check_version(number, where=''):
    """Raise ImportError unless the library version `number`
    (MAJOR*10000 + MINOR*100 + PATCH) has the binding's ABI major."""
    major = number // 10000
    if major != ABI_MAJOR:
        raise ImportError(
            'fwinfer: the library %sis version %d.%d.%d, but this binding is '
            'written for ABI major %d (libfwinfer.so.%d); install a matching '
            'libfwinfer or binding, or point FWINFER_LIB at the right library'
            % (where + ' ' if where else '', major, number // 100 % 100, number % 100,
               ABI_MAJOR, ABI_MAJOR))


def _load():
    tried = []
    for path, origin in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append('%s (from %s): %s' % (path, origin, e))
    if not tried:
        tried.append('nothing found by pkg-config or ctypes.util.find_library')
    raise ImportError('fwinfer: cannot load libfwinfer; set FWINFER_LIB to the path of '
                      'libfwinfer.so.  Tried: ' + '; '.join(tried))


lib, path = _load()

c_int32, c_uint32, c_size_t = ctypes.c_int32, ctypes.c_uint32, ctypes.c_size_t
c_char_p, c_void_p = ctypes.c_char_p, ctypes.c_void_p
P_size_t, P_void_p = ctypes.POINTER(c_size_t), ctypes.POINTER(c_void_p)
P_token = ctypes.POINTER(c_int32)

# The version first: a library of another ABI major may not even have the
# other functions with these signatures.
lib.fw_version_number.argtypes = []
lib.fw_version_number.restype = c_uint32
lib.fw_version_string.argtypes = []
lib.fw_version_string.restype = c_char_p
check_version(lib.fw_version_number(), 'at ' + path)


# The streaming callback: (const event *, void *user_data) -> int32; the
# event is only ever passed on to fw_event_to_json.
EVENT_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p)

_protos = {
    'fw_status_str': (c_char_p, [c_int32]),
    'fw_last_error': (c_char_p, []),
    'fw_model_load_json': (c_int32, [c_char_p, c_char_p, P_void_p]),
    'fw_model_free': (None, [c_void_p]),
    'fw_model_arch': (c_char_p, [c_void_p]),
    'fw_model_n_vocab': (c_int32, [c_void_p]),
    'fw_model_n_ctx_train': (c_int32, [c_void_p]),
    'fw_model_sampling_defaults_json': (c_int32, [c_void_p, c_char_p, c_size_t, P_size_t]),
    'fw_context_new_json': (c_int32, [c_void_p, c_char_p, P_void_p]),
    'fw_context_free': (None, [c_void_p]),
    'fw_context_cancel': (None, [c_void_p]),
    'fw_context_eval': (c_int32, [c_void_p, c_int32, c_int32, P_token, c_size_t, c_uint32]),
    'fw_context_n_ctx': (c_uint32, [c_void_p]),
    'fw_context_n_seq_max': (c_uint32, [c_void_p]),
    'fw_context_n_threads': (c_uint32, [c_void_p]),
    'fw_context_isa': (c_char_p, [c_void_p]),
    'fw_tokenize': (c_int32, [c_void_p, c_char_p, c_size_t, c_uint32, P_token, c_size_t,
                              P_size_t]),
    'fw_detokenize': (c_int32, [c_void_p, P_token, c_size_t, c_uint32, c_char_p, c_size_t,
                                P_size_t]),
    'fw_token_to_piece': (c_int32, [c_void_p, c_int32, c_uint32, c_char_p, c_size_t,
                                    P_size_t]),
    'fw_chat_apply_template_json': (c_int32, [c_void_p, c_char_p, c_char_p, c_char_p, c_int32,
                                              c_char_p, c_size_t, P_size_t]),
    'fw_generate_json': (c_int32, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, EVENT_FN,
                                   c_void_p, P_void_p]),
    'fw_result_free': (None, [c_void_p]),
    'fw_result_to_json': (c_int32, [c_void_p, c_char_p, c_char_p, c_size_t, P_size_t]),
    'fw_event_to_json': (c_int32, [c_void_p, c_char_p, c_size_t, P_size_t]),
}
for _name, (_res, _args) in _protos.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def error(status):
    """The Error for `status`, with this thread's last library message
    (call it on the thread that made the failing call)."""
    name = (lib.fw_status_str(status) or b'').decode('utf-8', 'replace').split(':')[0]
    msg = (lib.fw_last_error() or b'').decode('utf-8', 'replace')
    return Error(status, name, msg)


def check(status):
    if status != OK:
        raise error(status)


def get_text(fn, *args):
    """Call a buffer-convention function fn(*args, buf, cap, &n): once for
    the size, once for the text.  Returns bytes."""
    n = c_size_t(0)
    st = fn(*args, None, 0, ctypes.byref(n))
    if st not in (OK, E_BUFFER_TOO_SMALL):
        raise error(st)
    buf = ctypes.create_string_buffer(n.value + 1)
    check(fn(*args, buf, n.value + 1, ctypes.byref(n)))
    return buf.raw[:n.value]


def params_json(params):
    """A parameter object (dict) as the NUL-terminated JSON text that
    fw_model_load_json and fw_context_new_json take."""
    return json.dumps(params, ensure_ascii=False).encode('utf-8')
