# The console's output side and the renderer of guest bytes: portable, tested on the host
# (tests/unit/test_guest_text.c, test_console_out.c, test_rate_limit.c).
PORTABLE_SRCS += kernel/lib/guest_text.c
PORTABLE_SRCS += kernel/lib/rate_limit.c kernel/console.c kernel/console_input.c
PORTABLE_SRCS += kernel/vm/guest_mac.c
PORTABLE_SRCS += arch/x86/spec_ctrl.c arch/x86/mce.c
