"""What the libFuzzer tests share: whether this machine can build a libFuzzer target."""
import functools
import os
import shutil
import subprocess
import tempfile


@functools.lru_cache(maxsize=None)
def libfuzzer_available():
    """True when clang can link a -fsanitize=fuzzer program here (clang and libclang-rt)."""
    clang = shutil.which("clang")
    if not clang:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("#include <stddef.h>\n#include <stdint.h>\n"
                    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
                    "{ (void)d; (void)n; return 0; }\n")
        probe = subprocess.run([clang, "-fsanitize=fuzzer", src, "-o", os.path.join(tmp, "probe")],
                               capture_output=True)
        return probe.returncode == 0
