"""What the libFuzzer tests share: whether this machine can build a libFuzzer target, and
running one of the make targets for a bounded time."""
import functools
import glob
import os
import shutil
import subprocess
import tempfile

from harness.paths import BUILD, ROOT


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


def run_fuzz_make_target(target, seconds):
    """Runs `make TARGET FUZZ_SECONDS=seconds` (a libFuzzer target of the mk/ fragments) with
    the old crash-* artifacts cleared. Returns None when libFuzzer finished its runs without a
    finding, else what went wrong with the end of the output."""
    for old in glob.glob(os.path.join(BUILD, "fuzz", "crash-*")):
        os.unlink(old)
    result = subprocess.run(["make", "-s", "-C", ROOT, target, f"FUZZ_SECONDS={seconds}"],
                            capture_output=True, text=True, timeout=seconds + 300,
                            start_new_session=True)
    output = result.stdout + result.stderr
    crashes = glob.glob(os.path.join(BUILD, "fuzz", "crash-*"))
    if result.returncode != 0 or crashes:
        return f"{target} found a problem {crashes}:\n{output[-6000:]}"
    if not any(line.startswith("Done ") and " runs in " in line for line in output.splitlines()):
        return f"{target} did not run:\n{output[-3000:]}"
    return None
